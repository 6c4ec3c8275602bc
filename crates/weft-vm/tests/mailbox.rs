//! Selective receive stays linear: counted in reductions (deterministic), not in time.

use weft_syntax::SourceFile;
use weft_vm::{Halt, Vm};

/// Runs `source` on virtual time and returns how many reductions it took (to within `STEP`).
fn instructions(source: &str) -> u64 {
    const STEP: u64 = 1_000;
    let mut vm = Vm::new();
    vm.set_output(Box::new(std::io::sink()));
    vm.set_virtual_time(true);
    let module = vm.new_module("<main>");
    let main = vm
        .compile(module, SourceFile::new("mailbox.weft", source), false)
        .expect("compiles");
    vm.start(main);
    let mut used = 0;
    loop {
        match vm.run(STEP) {
            Halt::OutOfFuel => used += STEP,
            Halt::Done(_) => return used + STEP,
            other => panic!("{other:?}"),
        }
        assert!(used < 100_000_000, "runaway");
    }
}

/// The cost of one `receive` that skips `noise` unmatched messages, minus the cost of filling
/// the mailbox.
fn selective_receive(noise: u64) -> u64 {
    let fill = format!(
        "let me = current_task()\nfor i in 0..{noise} {{ me.send(i) }}\nme.send(\"wanted\")\n"
    );
    let with_receive = format!("{fill}receive {{ m if m == \"wanted\" => m }}\n");
    instructions(&with_receive) - instructions(&fill)
}

#[test]
fn one_receive_skipping_unmatched_messages_is_linear() {
    let small = selective_receive(10_000);
    let large = selective_receive(40_000);
    // Four times the messages: about four times the work (quadratic would be sixteen).
    assert!(large < small * 6, "10k: {small} instructions, 40k: {large}");
    assert!(
        small < 200_000,
        "10k unmatched messages took {small} instructions"
    );
}

#[test]
fn a_waiting_receive_does_not_rescan_old_messages_when_new_ones_arrive() {
    // The receiver waits with 10,000 unmatched messages; 2,000 more unmatched ones arrive one at
    // a time, each waking it. Rescanning on every wake would cost 2,000 x 10,000 steps.
    let source = r#"
let receiver = spawn { receive { m if m == "wanted" => m } }
for i in 0..10000 { receiver.send(i) }
yield_now()
for i in 0..2000 {
    receiver.send(i)
    yield_now()
}
receiver.send("wanted")
await receiver
"#;
    let used = instructions(source);
    assert!(used < 1_000_000, "{used} instructions");
}
