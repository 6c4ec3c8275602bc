//! The natives of the `http` module (`http.weft` wraps them): an HTTP/1.1 server and client on
//! hyper.
//!
//! Server: `__http_listen(port)` binds and starts an accept loop on the event loop. Each request
//! hyper receives becomes `[request id, request map]` for the script's serve loop, which waits in
//! `__http_next(server)`; the script's handler task answers with `__http_respond(id, response)`,
//! which wakes the hyper side through a oneshot channel. A request nobody answers (its task was
//! cancelled, the server closed) gets 503.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;
use weft_vm::stdlib::{arg_count, check_int};
use weft_vm::{raise, HostOp, Key, Map, NativeClosure, Text, Value, Vm, VmResult};

use crate::host_work::{Completion, HostWork};

/// A request as the script sees it. The texts are `Text` because that is what the heap's
/// strings and map keys hold: each is made once, here, and moves into the heap as is.
struct RequestData {
    method: Text,
    path: Text,
    query: Text,
    headers: Vec<(Text, Text)>,
    body: Text,
}

/// A response from the script.
struct ResponseData {
    status: u16,
    headers: Vec<(Text, Text)>,
    body: Text,
}

/// Map keys and header names every request uses, allocated once instead of per request.
///
/// With them (and the request's texts built straight into `Text`, and the response read
/// without cloning its map), the hello server makes about 20 fewer allocations per request.
/// Measured together with `half_close` below: p99 under `wrk -t1 -c50` on an idle machine
/// 1.8-3.0 ms -> 0.95-1.4 ms, 55-72k -> 65-99k req/s.
struct Names {
    method: Key,
    path: Key,
    query: Key,
    headers: Key,
    body: Key,
    status: Key,
    /// Long header names and methods seen so far (at most [`MAX_CACHED_NAMES`]), shared
    /// instead of allocated again; a short one is in place in its `Text` and not cached.
    cache: RefCell<std::collections::HashSet<Text>>,
}

/// Header names are chosen by clients: the cache stops growing at this many.
const MAX_CACHED_NAMES: usize = 256;

impl Names {
    fn new() -> Names {
        let key = |k: &str| Key::Str(k.into());
        Names {
            method: key("method"),
            path: key("path"),
            query: key("query"),
            headers: key("headers"),
            body: key("body"),
            status: key("status"),
            cache: RefCell::default(),
        }
    }

    /// A shared `Text` for a header name or method.
    fn name(&self, text: &str) -> Text {
        if text.len() <= Text::INLINE {
            return Text::from(text);
        }
        let mut cache = self.cache.borrow_mut();
        if let Some(name) = cache.get(text) {
            return name.clone();
        }
        let name = Text::from(text);
        if cache.len() < MAX_CACHED_NAMES {
            cache.insert(name.clone());
        }
        name
    }
}

/// One listening server.
struct Server {
    /// Requests not yet taken by the serve loop.
    queue: VecDeque<(i64, RequestData)>,
    /// The serve loop waiting in `__http_next`.
    waiter: Option<HostOp>,
    /// The accept loop.
    accept: tokio::task::AbortHandle,
}

#[derive(Default)]
struct State {
    next: i64,
    servers: HashMap<i64, Server>,
    /// Answers awaited by hyper, by request id.
    pending: HashMap<i64, oneshot::Sender<ResponseData>>,
}

type Shared = Rc<RefCell<State>>;

/// Text of header bytes (lossy, like the body).
fn text_of(bytes: &[u8]) -> Text {
    Text::from(String::from_utf8_lossy(bytes))
}

/// Installs the natives and the `http` module.
pub(crate) fn install(vm: &mut Vm, work: &Rc<HostWork>) {
    let state: Shared = Rc::default();
    let names = Rc::new(Names::new());
    let natives: Vec<(&str, NativeClosure)> = vec![
        (
            "__http_listen",
            listen(work.clone(), state.clone(), names.clone()),
        ),
        ("__http_next", next(state.clone(), names.clone())),
        ("__http_respond", respond(state.clone(), names)),
        ("__http_close", close(state.clone(), work.clone())),
        ("__http_request", client(work.clone())),
    ];
    for (name, native) in natives {
        let value = vm.native_closure(name, native);
        vm.define_builtin(name, value);
    }
    vm.register_weft_module("http", include_str!("http.weft"));
    // Graceful shutdown: stop accepting, and end each serve loop (its in-flight requests, its
    // child tasks, finish before `serve` returns).
    work.on_shutdown(move |work| {
        let mut s = state.borrow_mut();
        for (_, server) in s.servers.drain() {
            server.accept.abort();
            if let Some(op) = server.waiter {
                work.finish(op, Box::new(|_| Ok(Value::Nil)));
            }
        }
    });
}

fn listen(work: Rc<HostWork>, state: Shared, names: Rc<Names>) -> NativeClosure {
    Rc::new(move |vm: &mut Vm, args: &[Value]| -> VmResult<Value> {
        arg_count("http.serve", args, 1, 1)?;
        let port = check_int(vm, "http.serve", args[0])?;
        let port =
            u16::try_from(port).map_err(|_| raise("ValueError", format!("bad port {port}")))?;
        vm.check_net("127.0.0.1", port)?;
        let (op, parked) = vm.park_on_host();
        let (state, work2, names) = (state.clone(), work.clone(), names.clone());
        work.start(op, async move {
            let bound = tokio::net::TcpListener::bind(("127.0.0.1", port)).await;
            Box::new(move |vm: &mut Vm| {
                let listener =
                    bound.map_err(|e| vm.new_error("IOError", &format!("listen: {e}")))?;
                let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
                let id = {
                    let mut s = state.borrow_mut();
                    s.next += 1;
                    s.next
                };
                work2.service_started();
                let accept = tokio::task::spawn_local(accept_loop(
                    listener,
                    id,
                    state.clone(),
                    work2,
                    names,
                ));
                state.borrow_mut().servers.insert(
                    id,
                    Server {
                        queue: VecDeque::new(),
                        waiter: None,
                        accept: accept.abort_handle(),
                    },
                );
                Ok(vm
                    .heap
                    .alloc_list(vec![Value::Int(id), Value::Int(port as i64)]))
            }) as Completion
        });
        Err(parked)
    })
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    server: i64,
    state: Shared,
    work: Rc<HostWork>,
    names: Rc<Names>,
) {
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        let (state, work, names) = (state.clone(), work.clone(), names.clone());
        tokio::task::spawn_local(async move {
            let service = hyper::service::service_fn(move |req| {
                let (state, work, names) = (state.clone(), work.clone(), names.clone());
                async move { Ok::<_, hyper::Error>(answer(req, server, state, work, names).await) }
            });
            // Half-close: while a request is in flight, hyper does not read on to notice that
            // the client went away (it notices when it writes the answer). That read came right
            // after the head was parsed, while the request still held the read buffer, so each
            // request also allocated a new 8 KB buffer (glibc's malloc_consolidate and
            // unlink_chunk, 6% of the hello server's time) and made one more recv syscall.
            let _ = hyper::server::conn::http1::Builder::new()
                .half_close(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Hands one request to the script and waits for its answer.
async fn answer(
    req: Request<Incoming>,
    server: i64,
    state: Shared,
    work: Rc<HostWork>,
    names: Rc<Names>,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => text_of(&collected.to_bytes()),
        Err(_) => return plain(StatusCode::BAD_REQUEST, "bad request body"),
    };
    let data = RequestData {
        method: names.name(parts.method.as_str()),
        path: Text::from(parts.uri.path()),
        query: Text::from(parts.uri.query().unwrap_or("")),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (names.name(k.as_str()), text_of(v.as_bytes())))
            .collect(),
        body,
    };
    // The head's bytes are a slice of the connection's read buffer: let them go before waiting,
    // so that hyper reuses that buffer for the next request instead of allocating one.
    drop(parts);
    let (tx, rx) = oneshot::channel();
    {
        let mut s = state.borrow_mut();
        s.next += 1;
        let rid = s.next;
        s.pending.insert(rid, tx);
        let Some(srv) = s.servers.get_mut(&server) else {
            return plain(StatusCode::SERVICE_UNAVAILABLE, "server closed");
        };
        match srv.waiter.take() {
            Some(op) => work.finish(
                op,
                Box::new(move |vm: &mut Vm| Ok(request_value(vm, &names, rid, data))),
            ),
            None => srv.queue.push_back((rid, data)),
        }
    }
    match rx.await {
        Ok(res) => {
            let mut builder = Response::builder().status(res.status);
            for (k, v) in &res.headers {
                builder = builder.header(&**k, &**v);
            }
            builder
                .body(Full::new(Bytes::copy_from_slice(res.body.as_bytes())))
                .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "bad response"))
        }
        Err(_) => plain(StatusCode::SERVICE_UNAVAILABLE, "no answer"),
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *res.status_mut() = status;
    res
}

/// `[id, {method, path, query, headers, body}]`.
fn request_value(vm: &mut Vm, names: &Names, rid: i64, data: RequestData) -> Value {
    let mut headers = Map::with_capacity(data.headers.len());
    for (k, v) in data.headers {
        let v = vm.heap.alloc_str(v);
        headers.insert(Key::Str(k), v);
    }
    let mut map = Map::with_capacity(5);
    for (k, v) in [
        (&names.method, data.method),
        (&names.path, data.path),
        (&names.query, data.query),
    ] {
        let v = vm.heap.alloc_str(v);
        map.insert(k.clone(), v);
    }
    let headers = vm.heap.alloc_map(headers);
    map.insert(names.headers.clone(), headers);
    let body = vm.heap.alloc_str(data.body);
    map.insert(names.body.clone(), body);
    let req = vm.heap.alloc_map(map);
    vm.heap.alloc_list(vec![Value::Int(rid), req])
}

/// `__http_next(server)`: the next request as `[id, req]`, or nil once the server shuts down.
fn next(state: Shared, names: Rc<Names>) -> NativeClosure {
    Rc::new(move |vm: &mut Vm, args: &[Value]| -> VmResult<Value> {
        arg_count("http.serve", args, 1, 1)?;
        let id = check_int(vm, "http.serve", args[0])?;
        let mut s = state.borrow_mut();
        let Some(srv) = s.servers.get_mut(&id) else {
            // Closed, or shut down: the serve loop ends.
            return Ok(Value::Nil);
        };
        if let Some((rid, data)) = srv.queue.pop_front() {
            drop(s);
            return Ok(request_value(vm, &names, rid, data));
        }
        let (op, parked) = vm.park_on_host();
        srv.waiter = Some(op);
        Err(parked)
    })
}

fn respond(state: Shared, names: Rc<Names>) -> NativeClosure {
    Rc::new(move |vm: &mut Vm, args: &[Value]| -> VmResult<Value> {
        arg_count("http.respond", args, 2, 2)?;
        let rid = check_int(vm, "http.respond", args[0])?;
        let res = response_data(vm, &names, args[1]);
        if let Some(tx) = state.borrow_mut().pending.remove(&rid) {
            let _ = tx.send(res);
        }
        Ok(Value::Nil)
    })
}

/// A handler's result: a string (200, text), or `{status, headers, body}` (a body that is not a
/// string is sent as JSON).
fn response_data(vm: &mut Vm, names: &Names, value: Value) -> ResponseData {
    let text = |vm: &Vm, v: Value| -> Text {
        match v {
            Value::Str(s) => vm.heap.str(s).clone(),
            Value::Nil => Text::default(),
            other => Text::from(vm.display(other)),
        }
    };
    match value {
        Value::Map(m) => {
            // Read in place: the map is the script's, and cloning it cost allocations.
            let map = vm.heap.maps.get(m);
            let status = match map.get(&names.status) {
                Some(Value::Int(s)) => (*s).clamp(100, 999) as u16,
                _ => 200,
            };
            let headers_value = map.get(&names.headers).copied();
            let body_value = map.get(&names.body).copied();
            let mut headers = Vec::new();
            if let Some(Value::Map(h)) = headers_value {
                let pairs: Vec<(Key, Value)> = vm
                    .heap
                    .maps
                    .get(h)
                    .iter()
                    .map(|(k, v)| (k.clone(), *v))
                    .collect();
                for (k, v) in pairs {
                    if let Key::Str(k) = k {
                        headers.push((k, text(vm, v)));
                    }
                }
            }
            let body = match body_value {
                Some(Value::Str(s)) => vm.heap.str(s).clone(),
                Some(Value::Nil) | None => Text::default(),
                Some(other) => {
                    Text::from(weft_vm::stdlib::json_string(vm, other).unwrap_or_default())
                }
            };
            ResponseData {
                status,
                headers,
                body,
            }
        }
        other => ResponseData {
            status: 200,
            headers: vec![(
                names.name("content-type"),
                Text::from("text/plain; charset=utf-8"),
            )],
            body: text(vm, other),
        },
    }
}

fn close(state: Shared, work: Rc<HostWork>) -> NativeClosure {
    Rc::new(move |vm: &mut Vm, args: &[Value]| -> VmResult<Value> {
        arg_count("http.close", args, 1, 1)?;
        let id = check_int(vm, "http.close", args[0])?;
        if let Some(srv) = state.borrow_mut().servers.remove(&id) {
            srv.accept.abort();
            work.service_stopped();
        }
        Ok(Value::Nil)
    })
}

/// What a client request asks for.
struct Outgoing {
    method: String,
    host: String,
    port: u16,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
    timeout: Option<u64>,
}

fn client(work: Rc<HostWork>) -> NativeClosure {
    Rc::new(move |vm: &mut Vm, args: &[Value]| -> VmResult<Value> {
        arg_count("http.request", args, 1, 1)?;
        let out = outgoing(vm, args[0])?;
        vm.check_net(&out.host, out.port)?;
        let (op, parked) = vm.park_on_host();
        work.start(op, async move {
            let timeout = out.timeout;
            let call = send(out);
            let result = match timeout {
                Some(ms) => tokio::time::timeout(Duration::from_millis(ms), call)
                    .await
                    .unwrap_or_else(|_| Err(format!("timed out after {ms} ms"))),
                None => call.await,
            };
            Box::new(move |vm: &mut Vm| match result {
                Ok((status, headers, body)) => {
                    let mut h = Map::default();
                    for (k, v) in headers {
                        let v = vm.heap.alloc_str(v);
                        h.insert(Key::Str(k.into()), v);
                    }
                    let mut map = Map::default();
                    map.insert(Key::Str("status".into()), Value::Int(status as i64));
                    let h = vm.heap.alloc_map(h);
                    map.insert(Key::Str("headers".into()), h);
                    let body = vm.heap.alloc_str(body);
                    map.insert(Key::Str("body".into()), body);
                    Ok(vm.heap.alloc_map(map))
                }
                Err(message) if message.starts_with("timed out") => {
                    Err(vm.new_error("Timeout", &format!("http request {message}")))
                }
                Err(message) => Err(vm.new_error("IOError", &format!("http request: {message}"))),
            }) as Completion
        });
        Err(parked)
    })
}

/// Reads `{method, url, headers, body, timeout}`.
fn outgoing(vm: &mut Vm, value: Value) -> VmResult<Outgoing> {
    let Value::Map(m) = value else {
        return Err(raise(
            "TypeError",
            "http.request() takes a map {method, url, ...}",
        ));
    };
    let map = vm.heap.maps.get(m).clone();
    let get = |k: &str| map.get(&Key::Str(k.into())).copied();
    let text = |v: Option<Value>| match v {
        Some(Value::Str(s)) => Some(vm.heap.str(s).to_string()),
        _ => None,
    };
    let url = text(get("url")).ok_or_else(|| raise("ValueError", "http request needs a url"))?;
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        raise(
            "ValueError",
            format!("only http:// urls are supported: {url}"),
        )
    })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (
            h.to_string(),
            p.parse::<u16>()
                .map_err(|_| raise("ValueError", format!("bad port in {url}")))?,
        ),
        None => (authority.to_string(), 80),
    };
    let mut headers = Vec::new();
    if let Some(Value::Map(h)) = get("headers") {
        for (k, v) in vm.heap.maps.get(h) {
            if let (Key::Str(k), Value::Str(v)) = (k, v) {
                headers.push((k.to_string(), vm.heap.str(*v).to_string()));
            }
        }
    }
    let method = text(get("method")).unwrap_or_else(|| "GET".into());
    let body = get("body");
    let timeout = match get("timeout") {
        Some(Value::Int(ms)) => Some(ms.max(0) as u64),
        Some(Value::Float(ms)) => Some(ms.max(0.0) as u64),
        _ => None,
    };
    let body = match body {
        Some(Value::Str(s)) => vm.heap.str(s).to_string(),
        Some(Value::Nil) | None => String::new(),
        Some(other) => weft_vm::stdlib::json_string(vm, other).unwrap_or_default(),
    };
    Ok(Outgoing {
        method,
        host,
        port,
        path,
        headers,
        body,
        timeout,
    })
}

/// One HTTP/1.1 exchange on a new connection.
async fn send(out: Outgoing) -> Result<(u16, Vec<(String, String)>, String), String> {
    let stream = tokio::net::TcpStream::connect((out.host.as_str(), out.port))
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::task::spawn_local(async move {
        let _ = conn.await;
    });
    let mut req = Request::builder()
        .method(out.method.as_str())
        .uri(out.path.as_str())
        .header("host", format!("{}:{}", out.host, out.port));
    for (k, v) in &out.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let req = req
        .body(Full::new(Bytes::from(out.body)))
        .map_err(|e| e.to_string())?;
    let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    let headers = res
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = res.into_body().collect().await.map_err(|e| e.to_string())?;
    Ok((
        status,
        headers,
        String::from_utf8_lossy(&body.to_bytes()).into_owned(),
    ))
}
