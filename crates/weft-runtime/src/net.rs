//! The natives of the `net` module (`net.weft` wraps them): TCP listeners and streams on tokio,
//! kept in a table by id. An operation takes its socket out of the table while it runs and puts
//! it back when done, so two tasks using one stream at the same time get a clear error.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use weft_vm::stdlib::{arg_count, check_int, check_str};
use weft_vm::{raise, NativeClosure, Value, Vm, VmResult};

use crate::host_work::{Completion, HostWork};

/// Open sockets by id.
#[derive(Default)]
struct Sockets {
    next: i64,
    listeners: HashMap<i64, TcpListener>,
    streams: HashMap<i64, BufReader<TcpStream>>,
}

impl Sockets {
    fn add_stream(&mut self, stream: TcpStream) -> i64 {
        self.next += 1;
        self.streams.insert(self.next, BufReader::new(stream));
        self.next
    }
}

type Table = Rc<RefCell<Sockets>>;

/// What a finished operation gives the script.
enum Done {
    /// A new listener and the port it is bound to: `[id, port]`.
    Listener(i64, u16),
    /// A new stream and its peer's address: `[id, "ip:port"]`.
    Stream(i64, String),
    /// Text read; `None` at the end of the stream.
    Text(Option<String>),
    Nil,
}

/// Installs the natives and the `net` module.
pub(crate) fn install(vm: &mut Vm, work: &Rc<HostWork>) {
    let table: Table = Rc::default();
    let natives: [(&str, Kind); 7] = [
        ("__net_listen", Kind::Listen),
        ("__net_accept", Kind::Accept),
        ("__net_connect", Kind::Connect),
        ("__net_read", Kind::Read),
        ("__net_read_line", Kind::ReadLine),
        ("__net_write", Kind::Write),
        ("__net_close", Kind::Close),
    ];
    for (name, kind) in natives {
        let native = vm.native_closure(name, native(name, kind, work.clone(), table.clone()));
        vm.define_builtin(name, native);
    }
    vm.register_weft_module("net", include_str!("net.weft"));
}

#[derive(Clone, Copy)]
enum Kind {
    Listen,
    Accept,
    Connect,
    Read,
    ReadLine,
    Write,
    Close,
}

fn native(name: &'static str, kind: Kind, work: Rc<HostWork>, table: Table) -> NativeClosure {
    Rc::new(move |vm: &mut Vm, args: &[Value]| -> VmResult<Value> {
        let future: std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<Done>>>> =
            match kind {
                Kind::Listen | Kind::Connect => {
                    arg_count(name, args, 2, 2)?;
                    let host = check_str(vm, name, args[0])?;
                    let host = vm.heap.str(host).to_string();
                    let port = check_int(vm, name, args[1])?;
                    let port = u16::try_from(port)
                        .map_err(|_| raise("ValueError", format!("bad port {port}")))?;
                    vm.check_net(&host, port)?;
                    let table = table.clone();
                    if let Kind::Listen = kind {
                        Box::pin(async move {
                            let listener = TcpListener::bind((host.as_str(), port)).await?;
                            let bound = listener.local_addr()?.port();
                            let mut t = table.borrow_mut();
                            t.next += 1;
                            let id = t.next;
                            t.listeners.insert(id, listener);
                            Ok(Done::Listener(id, bound))
                        })
                    } else {
                        Box::pin(async move {
                            let stream = TcpStream::connect((host.as_str(), port)).await?;
                            let _ = stream.set_nodelay(true);
                            let peer = stream.peer_addr()?.to_string();
                            let id = table.borrow_mut().add_stream(stream);
                            Ok(Done::Stream(id, peer))
                        })
                    }
                }
                Kind::Accept => {
                    arg_count(name, args, 1, 1)?;
                    let id = check_int(vm, name, args[0])?;
                    let listener = table
                        .borrow_mut()
                        .listeners
                        .remove(&id)
                        .ok_or_else(|| busy("listener"))?;
                    let table = table.clone();
                    Box::pin(async move {
                        let accepted = listener.accept().await;
                        table.borrow_mut().listeners.insert(id, listener);
                        let (stream, peer) = accepted?;
                        let _ = stream.set_nodelay(true);
                        let new = table.borrow_mut().add_stream(stream);
                        Ok(Done::Stream(new, peer.to_string()))
                    })
                }
                Kind::Read | Kind::ReadLine | Kind::Write => {
                    let count = if matches!(kind, Kind::ReadLine) { 1 } else { 2 };
                    arg_count(name, args, count, count)?;
                    let id = check_int(vm, name, args[0])?;
                    let n = match kind {
                        Kind::Read => check_int(vm, name, args[1])?.clamp(1, 1 << 24) as usize,
                        _ => 0,
                    };
                    let text = match kind {
                        Kind::Write => {
                            let s = check_str(vm, name, args[1])?;
                            vm.heap.str(s).to_string()
                        }
                        _ => String::new(),
                    };
                    let mut stream = table
                        .borrow_mut()
                        .streams
                        .remove(&id)
                        .ok_or_else(|| busy("stream"))?;
                    let table = table.clone();
                    Box::pin(async move {
                        let result = match kind {
                            Kind::Read => {
                                let mut buf = vec![0; n];
                                stream.read(&mut buf).await.map(|got| {
                                    (got > 0)
                                        .then(|| String::from_utf8_lossy(&buf[..got]).into_owned())
                                })
                            }
                            Kind::ReadLine => {
                                let mut line = String::new();
                                stream.read_line(&mut line).await.map(|got| {
                                    (got > 0).then(|| {
                                        let trimmed = line.strip_suffix('\n').unwrap_or(&line);
                                        trimmed.strip_suffix('\r').unwrap_or(trimmed).to_string()
                                    })
                                })
                            }
                            _ => stream
                                .get_mut()
                                .write_all(text.as_bytes())
                                .await
                                .map(|()| None),
                        };
                        table.borrow_mut().streams.insert(id, stream);
                        result.map(|text| {
                            if matches!(kind, Kind::Write) {
                                Done::Nil
                            } else {
                                Done::Text(text)
                            }
                        })
                    })
                }
                Kind::Close => {
                    arg_count(name, args, 1, 1)?;
                    let id = check_int(vm, name, args[0])?;
                    let mut t = table.borrow_mut();
                    t.streams.remove(&id);
                    t.listeners.remove(&id);
                    return Ok(Value::Nil);
                }
            };
        let (op, parked) = vm.park_on_host();
        work.start(op, async move {
            let result = future.await;
            Box::new(move |vm: &mut Vm| match result {
                Ok(Done::Listener(id, port)) => Ok(vm
                    .heap
                    .alloc_list(vec![Value::Int(id), Value::Int(port as i64)])),
                Ok(Done::Stream(id, peer)) => {
                    let peer = vm.heap.alloc_str(peer);
                    Ok(vm.heap.alloc_list(vec![Value::Int(id), peer]))
                }
                Ok(Done::Text(Some(text))) => Ok(vm.heap.alloc_str(text)),
                Ok(Done::Text(None)) | Ok(Done::Nil) => Ok(Value::Nil),
                Err(e) => Err(vm.new_error("IOError", &format!("{}: {e}", &name[6..]))),
            }) as Completion
        });
        Err(parked)
    })
}

fn busy(what: &str) -> weft_vm::Exc {
    raise(
        "IOError",
        format!("the {what} is closed, or another task is using it"),
    )
}
