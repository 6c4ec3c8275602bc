//! The embedding API, path by path: host functions sync and async, errors both ways, promises,
//! events, messages, cancellation, limits, rooted values and serde.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use weft::{Error, HostError, RunState, Value, Vm};

fn quiet() -> Vm {
    Vm::builder()
        .stdout(std::io::sink())
        .virtual_time(true)
        .build()
}

fn runtime_message(result: Result<Value, Error>) -> String {
    match result {
        Err(Error::Runtime { message, .. }) => message,
        other => panic!("expected a runtime error, got {other:?}"),
    }
}

#[test]
fn sync_host_functions_convert_arguments_and_results() {
    let mut vm = quiet();
    vm.register_fn("add", |a: i64, b: i64| a + b);
    vm.register_fn("shout", |s: String| s.to_uppercase());
    vm.register_fn("total", |xs: Vec<f64>| xs.iter().sum::<f64>());
    let v = vm
        .eval("[add(2, 3), shout(\"hi\"), total([1, 2.5])]")
        .unwrap();
    assert_eq!(vm.display(v), "[5, \"HI\", 3.5]");
    let err = runtime_message(vm.eval("add(\"x\", 1)"));
    assert_eq!(err, "TypeError: add() argument 1 must be int, not string");
    let err = runtime_message(vm.eval("add(1)"));
    assert_eq!(err, "TypeError: add() takes 2 arguments but 1 were given");
}

#[test]
fn host_errors_become_weft_errors_and_script_errors_reach_the_host() {
    let mut vm = quiet();
    vm.register_fn("parse_port", |s: String| -> Result<i64, HostError> {
        s.parse::<i64>()
            .map_err(|_| HostError::new("ValueError", format!("bad port: {s}")))
    });
    let v = vm
        .eval("try { parse_port(\"http\") } catch e { [e.kind, e.message] }")
        .unwrap();
    assert_eq!(vm.display(v), "[\"ValueError\", \"bad port: http\"]");
    match vm.eval("fn f() { throw error(\"KeyError\", \"nope\") }\nf()") {
        Err(Error::Runtime { message, trace }) => {
            assert_eq!(message, "KeyError: nope");
            assert!(trace[0].starts_with("f <eval>:1:"), "{trace:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(vm.eval("let = 1"), Err(Error::Compile(_))));
}

#[test]
fn definitions_persist_and_call_runs_a_script_function() {
    let mut vm = quiet();
    vm.eval("fn square(x) { x * x }\nlet base = 10").unwrap();
    let v = vm.call("square", &[Value::Int(7)]).unwrap();
    assert_eq!(vm.display(v), "49");
    let v = vm.eval("square(base)").unwrap();
    assert_eq!(vm.display(v), "100");
    assert!(matches!(vm.call("missing", &[]), Err(Error::Host(_))));
}

#[test]
fn async_host_functions_park_only_their_task() {
    let mut vm = Vm::builder().stdout(std::io::sink()).build();
    vm.register_async_fn("fetch", |(n,): (i64,)| async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok::<_, HostError>(n * 2)
    });
    vm.register_async_fn("fail", |(): ()| async move {
        Err::<i64, _>(HostError::new("IOError", "connection refused"))
    });
    // While both fetches wait on tokio, a script task keeps counting.
    let v = vm
        .eval(
            "let ticks = 0\nlet counter = spawn { while ticks < 1000000 { ticks += 1; if ticks % 1000 == 0 { yield_now() } } }\n\
             let r = all([|| fetch(1), || fetch(2)])\ncounter.cancel()\n[r, ticks > 0]",
        )
        .unwrap();
    assert_eq!(vm.display(v), "[[2, 4], true]");
    let v = vm.eval("try { fail() } catch e { str(e) }").unwrap();
    assert_eq!(vm.display(v), "IOError: connection refused");
}

#[test]
fn promises_are_completed_by_the_host_and_a_dropped_resolver_fails_the_task() {
    let mut vm = quiet();
    vm.eval("fn consume(t) { await t + 1 }").unwrap();
    let (promise, resolver) = vm.promise();
    let waiting = vm.spawn("consume", &[promise.value(&vm)]).unwrap();
    assert_eq!(vm.run_until_idle(10_000).unwrap(), RunState::WaitingOnHost);
    resolver.resolve(41i64);
    assert_eq!(vm.run_until_idle(10_000).unwrap(), RunState::Done);
    let v = vm.result(&waiting).unwrap().unwrap();
    assert_eq!(vm.display(v), "42");

    let (promise, resolver) = vm.promise();
    let waiting = vm.spawn("consume", &[promise.value(&vm)]).unwrap();
    vm.run_until_idle(10_000).unwrap();
    drop(resolver);
    vm.run_until_idle(10_000).unwrap();
    match vm.result(&waiting) {
        Some(Err(Error::Runtime { message, .. })) => {
            assert_eq!(message, "HostError: the host dropped the promise")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn events_messages_and_cancellation_cross_the_boundary() {
    let mut vm = quiet();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = seen.clone();
    vm.on_event(move |event| sink.borrow_mut().push(event));
    vm.eval("emit({kind: \"started\", n: 1})\nfn server() { receive { m => emit(m) } }")
        .unwrap();
    let task = vm.spawn("server", &[]).unwrap();
    vm.run_until_idle(10_000).unwrap();
    vm.send(&task, "hello".to_string());
    assert_eq!(vm.run_until_idle(10_000).unwrap(), RunState::Done);
    assert_eq!(
        *seen.borrow(),
        vec![
            serde_json::json!({"kind": "started", "n": 1}),
            serde_json::json!("hello")
        ]
    );
    // Blocked in receive: only the host can end it now.
    let sleeper = vm.spawn("server", &[]).unwrap();
    assert_eq!(vm.run_until_idle(10_000).unwrap(), RunState::WaitingOnHost);
    assert!(vm.cancel(&sleeper));
    vm.run_until_idle(10_000).unwrap();
    match vm.result(&sleeper) {
        Some(Err(Error::Runtime { message, .. })) => assert!(message.starts_with("TaskCancelled")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_cancel_token_stops_a_runaway_script_from_another_thread() {
    let mut vm = Vm::builder()
        .stdout(std::io::sink())
        .cancel_grace(Duration::from_millis(10))
        .build();
    let token = vm.cancel_token();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        token.cancel();
    });
    let err = runtime_message(vm.eval("let x = 0\nwhile true { x += 1 }"));
    canceller.join().unwrap();
    assert!(err.starts_with("TaskCancelled"), "{err}");
}

#[test]
fn instruction_fuel_is_a_limit() {
    let mut vm = Vm::builder().stdout(std::io::sink()).fuel(500_000).build();
    assert!(matches!(
        vm.eval("while true { }"),
        Err(Error::Limit(what)) if what == "instruction fuel"
    ));
}

#[test]
fn rooted_values_survive_collection() {
    let mut vm = quiet();
    let list = vm.eval("[[1, 2], {a: \"kept\"}]").unwrap();
    let root = vm.root(list);
    vm.eval("for i in 0..200000 { let junk = [i, [i]] }")
        .unwrap();
    vm.core().collect_garbage();
    let v = vm.get(&root);
    assert_eq!(vm.display(v), "[[1, 2], {\"a\": \"kept\"}]");
}

#[test]
fn serde_converts_both_ways_and_refuses_cycles() {
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Config {
        name: String,
        ports: Vec<i64>,
        debug: bool,
    }
    let mut vm = quiet();
    let config = Config {
        name: "api".into(),
        ports: vec![80, 443],
        debug: false,
    };
    let value = weft::to_value(&mut vm, &config).unwrap();
    assert_eq!(
        vm.display(value),
        "{\"name\": \"api\", \"ports\": [80, 443], \"debug\": false}"
    );
    let back: Config = weft::from_value(&mut vm, value).unwrap();
    assert_eq!(back, config);
    let cyclic = vm.eval("let l = [1]\nl.push(l)\nl").unwrap();
    match weft::from_value::<serde_json::Value>(&mut vm, cyclic) {
        Err(Error::Host(message)) => assert!(message.contains("contains itself"), "{message}"),
        other => panic!("{other:?}"),
    }
}
