//! An async host function over tokio: the calling task waits for the Rust future while the
//! script's other tasks keep running.
//!
//! `cargo run -p weft --example embed_async`

use std::time::Duration;

use weft::{HostError, Vm};

fn main() {
    let mut vm = Vm::new();
    // Pretend lookup that takes 30 ms of real time on tokio's timer.
    vm.register_async_fn("lookup", |(key,): (String,)| async move {
        tokio::time::sleep(Duration::from_millis(30)).await;
        if key == "missing" {
            return Err(HostError::new("KeyError", "no such key"));
        }
        Ok(key.len() as i64)
    });
    let value = vm
        .eval(
            r#"
            // Three lookups at once: about 30 ms in all, not 90.
            let started = now()
            let sizes = all([|| lookup("alpha"), || lookup("be"), || lookup("c")])
            let failed = try { lookup("missing") } catch e { e.kind }
            [sizes, failed, now() - started < 80]
            "#,
        )
        .expect("the script runs");
    println!("{}", vm.display(value));
    assert_eq!(vm.display(value), "[[5, 2, 1], \"KeyError\", true]");
}

#[test]
fn runs() {
    main();
}
