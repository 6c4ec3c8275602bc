//! The scheduler as a host sees it: `Vm::run(fuel)` with any fuel gives the same program, `Idle`
//! reports the next timer on real time, virtual time never idles, deadlocks and cancellation
//! reach the host as errors, and tasks are collected like any other object.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use std::time::Duration;

use weft_syntax::SourceFile;
use weft_vm::{Halt, Value, Vm};

/// A `print` sink the test can read back.
#[derive(Clone, Default)]
struct Output(Rc<RefCell<Vec<u8>>>);

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Output {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.borrow()).into_owned()
    }
}

/// A VM with `source` started as its program, printing into the returned sink.
fn start(source: &str, virtual_time: bool) -> (Vm, Output) {
    let mut vm = Vm::new();
    let out = Output::default();
    vm.set_output(Box::new(out.clone()));
    vm.set_error_output(Box::new(out.clone()));
    vm.set_virtual_time(virtual_time);
    let module = vm.new_module("<main>");
    let main = vm
        .compile(module, SourceFile::new("test.weft", source), false)
        .expect("compiles");
    vm.start(main);
    (vm, out)
}

/// Runs to the end with `fuel` per call (virtual time: never idle).
fn run_in_chunks(vm: &mut Vm, fuel: u64) -> Halt {
    loop {
        match vm.run(fuel) {
            Halt::OutOfFuel => continue,
            other => {
                vm.flush();
                return other;
            }
        }
    }
}

fn error_kind(vm: &Vm, halt: &Halt) -> String {
    match halt {
        Halt::Error(e) => vm.display(*e),
        other => panic!("expected an error, got {other:?}"),
    }
}

const INTERLEAVED: &str = r#"
fn worker(name, n) {
    let total = 0
    for i in 0..n {
        total += i
        if i % 500 == 0 { print(name, i, now()) }
    }
    sleep(3)
    print(name, "done", total, now())
}
let ts = [spawn worker("a", 3000), spawn worker("b", 2000), spawn worker("c", 1000)]
for t in ts { await t }
print("end", now())
"#;

#[test]
fn host_fuel_does_not_change_the_schedule() {
    let (mut whole, out_whole) = start(INTERLEAVED, true);
    assert!(matches!(run_in_chunks(&mut whole, u64::MAX), Halt::Done(_)));
    for fuel in [1, 7, 1999, 2000, 2001, 65_537] {
        let (mut vm, out) = start(INTERLEAVED, true);
        assert!(matches!(run_in_chunks(&mut vm, fuel), Halt::Done(_)));
        assert_eq!(
            out.text(),
            out_whole.text(),
            "fuel {fuel} changed the output"
        );
    }
    // The three workers really were interleaved by preemption.
    let text = out_whole.text();
    let first_b = text.find("b 0").unwrap();
    let last_a = text.find("a 2500").unwrap();
    assert!(first_b < last_a, "{text}");
}

#[test]
fn idle_reports_the_next_timer_on_real_time() {
    let (mut vm, out) = start("sleep(50)\nprint(\"woke\")", false);
    let Halt::Idle {
        next_timer: Some(wait),
    } = vm.run(1_000_000)
    else {
        panic!("expected Idle with a timer");
    };
    assert!(
        wait <= Duration::from_millis(50) && !wait.is_zero(),
        "{wait:?}"
    );
    std::thread::sleep(wait);
    assert!(matches!(vm.run(1_000_000), Halt::Done(_)));
    vm.flush();
    assert_eq!(out.text(), "woke\n");
}

#[test]
fn virtual_time_jumps_to_timers_and_never_idles() {
    let (mut vm, out) = start(
        "sleep(1000000)\nprint(now())\nprint(timeout(5, || sleep(10)))",
        true,
    );
    let halt = vm.run(u64::MAX);
    vm.flush();
    assert_eq!(error_kind(&vm, &halt), "Timeout: timed out after 5 ms");
    assert_eq!(out.text(), "1000000.0\n");
}

#[test]
fn deadlock_reaches_the_host_as_an_error() {
    let (mut vm, _) = start("let ch = channel()\nch.recv()", true);
    let halt = vm.run(u64::MAX);
    let shown = error_kind(&vm, &halt);
    assert!(
        shown.starts_with("DeadlockError: every task is blocked and nothing can wake them\n  task 1 (main): receiving from a channel at <main> test.weft:2:1"),
        "{shown}"
    );
    // Asking again gives the same answer: the program is over.
    assert!(matches!(vm.run(10), Halt::Error(_)));
}

#[test]
fn a_cpu_bound_task_is_interrupted_after_the_cancel_grace() {
    let source = r#"
let spinner = spawn {
    let x = 0
    while true { x += 1 }
}
sleep(1)
spinner.cancel()
print(try { await spinner } catch e if e.kind == "TaskCancelled" { "interrupted" })
"#;
    // Real time: under virtual time the clock waits for the spinner, which never blocks.
    let (mut vm, out) = start(source, false);
    vm.sched.cancel_grace = Duration::from_millis(5);
    // Bounded: without the grace the spinner would run forever; 2 billion instructions is
    // far more than 5 ms of run time on any machine.
    let mut halt = Halt::OutOfFuel;
    for _ in 0..2_000 {
        halt = match vm.run(1_000_000) {
            Halt::Idle {
                next_timer: Some(wait),
            } => {
                std::thread::sleep(wait);
                continue;
            }
            Halt::OutOfFuel => continue,
            other => other,
        };
        break;
    }
    assert!(matches!(halt, Halt::Done(_)), "{halt:?}");
    vm.flush();
    assert_eq!(out.text(), "interrupted\n");
}

#[test]
fn finished_tasks_and_their_results_are_collected() {
    let source = r#"
for i in 0..20000 {
    let t = spawn [i, i + 1]
    await t
}
"#;
    let (mut vm, _) = start(source, true);
    assert!(matches!(vm.run(u64::MAX), Halt::Done(_)));
    vm.collect_garbage();
    let live = vm.heap.live_objects();
    assert!(live < 5_000, "{live} objects live after the tasks finished");
}

#[test]
fn blocked_tasks_and_their_values_survive_collection_at_every_safe_point() {
    let source = r#"
let ch = channel(2)
let results = channel()
for w in 0..4 {
    spawn {
        let got = []
        for v in ch { got.push([w, v, "item ${v}"]) }
        results.send(got)
    }
}
for i in 0..40 { ch.send({n: i, text: "value ${i}"}) }
ch.close()
let total = 0
for w in 0..4 {
    for entry in results.recv() { total += entry[1].n }
}
print(total)
"#;
    let (mut vm, out) = start(source, true);
    vm.heap.set_stress(true);
    let halt = vm.run(u64::MAX);
    vm.flush();
    assert!(
        matches!(halt, Halt::Done(Value::Nil)),
        "{halt:?}: {}",
        out.text()
    );
    assert_eq!(out.text(), "780\n");
}
