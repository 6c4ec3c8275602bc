//! A host-driven loop, as a game engine would run a script: a slice of work per frame, a
//! promise the host completes later, messages into a task's mailbox, and events out.
//!
//! `cargo run -p weft --example embed_host_loop`

use std::cell::RefCell;
use std::rc::Rc;

use weft::{RunState, Vm};

fn main() {
    let mut vm = Vm::builder().virtual_time(true).build();
    let events = Rc::new(RefCell::new(Vec::new()));
    let sink = events.clone();
    vm.on_event(move |event| sink.borrow_mut().push(event.to_string()));
    vm.eval(
        r#"
        fn actor(asset) {
          let texture = await asset            // resolved by the host later
          emit({loaded: texture})
          while true {
            receive {
              "quit" => { emit("bye"); return nil }
              {move: dx} => emit({moved: dx})
            }
          }
        }
        "#,
    )
    .expect("compiles");
    let (asset, loader) = vm.promise();
    let actor = vm
        .spawn("actor", &[asset.value(&vm)])
        .expect("actor starts");

    let mut frame = 0;
    let mut loader = Some(loader);
    loop {
        frame += 1;
        match frame {
            3 => loader.take().expect("once").resolve("grass.png"),
            4 => {
                let message = vm_map(&mut vm, 5);
                vm.send(&actor, message)
            }
            5 => vm.send(&actor, "quit"),
            _ => {}
        }
        // One frame's worth of script work, never blocking the host.
        let state = vm.run_until_idle(10_000).expect("no script error");
        if state == RunState::Done {
            break;
        }
        assert!(frame < 100, "the actor should have finished");
    }
    println!("{} frames, events: {:?}", frame, events.borrow());
    assert_eq!(
        *events.borrow(),
        vec![r#"{"loaded":"grass.png"}"#, r#"{"moved":5}"#, r#""bye""#]
    );
}

/// `{move: dx}` built from Rust data.
fn vm_map(vm: &mut Vm, dx: i64) -> weft::Value {
    weft::to_value(vm, &serde_json::json!({ "move": dx })).expect("converts")
}

#[test]
fn runs() {
    main();
}
