//! An untrusted script in a sandbox: each limit stops it with a clear error instead of taking
//! the host down. (File, network and process access are not granted by default; the permissions
//! of LANGUAGE.md §9 arrive with the I/O modules.)
//!
//! `cargo run -p weft --example embed_sandbox`

use std::time::Duration;

use weft::{Error, Vm};

fn sandbox() -> weft::Builder {
    Vm::builder()
        .stdout(std::io::sink())
        .cancel_grace(Duration::from_millis(20))
}

fn describe(result: Result<weft::Value, Error>) -> String {
    match result {
        Ok(_) => "finished".into(),
        Err(e) => e.to_string(),
    }
}

fn main() {
    // Instruction fuel: an endless loop.
    let mut vm = sandbox().fuel(2_000_000).build();
    let fuel = describe(vm.eval("while true { }"));
    println!("fuel: {fuel}");
    assert_eq!(fuel, "limit exceeded: instruction fuel");

    // Tasks: a fork bomb.
    let mut vm = sandbox().max_tasks(100).build();
    let tasks = describe(
        vm.eval("fn bomb() { spawn bomb(); spawn bomb(); sleep(10) }\nbomb()\nsleep(100)"),
    );
    println!("tasks: {tasks}");
    assert_eq!(tasks, "LimitExceeded: task limit of 100 exceeded");

    // Memory: a list that grows forever.
    let mut vm = sandbox().max_memory(16 * 1024 * 1024).build();
    let memory = describe(vm.eval("let l = []\nwhile true { l.push([len(l)]) }"));
    println!("memory: {memory}");
    assert_eq!(memory, "LimitExceeded: memory limit of 16 MB exceeded");

    // Deadline: a script that sleeps too long (virtual time, so this takes no real time).
    let mut vm = sandbox()
        .virtual_time(true)
        .deadline(Duration::from_millis(500))
        .build();
    let deadline = describe(vm.eval("sleep(10000)"));
    println!("deadline: {deadline}");
    assert_eq!(deadline, "LimitExceeded: deadline of 500 ms exceeded");

    // The cancel token: another thread stops a runaway script.
    let mut vm = sandbox().build();
    let token = vm.cancel_token();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        token.cancel();
    });
    let cancelled = describe(vm.eval("while true { }"));
    stopper.join().expect("stopper");
    println!("cancel token: {cancelled}");
    assert!(cancelled.starts_with("TaskCancelled"), "{cancelled}");
}

#[test]
fn runs() {
    main();
}
