//! A host function: Rust code a script calls, with typed arguments and errors both ways.
//!
//! `cargo run -p weft --example embed_host_fn`

use weft::{Error, HostError, Vm};

fn main() {
    let mut vm = Vm::new();
    // Arguments are converted and checked: a script passing a string gets a TypeError.
    vm.register_fn("clamp", |x: f64, lo: f64, hi: f64| x.max(lo).min(hi));
    // A Result's Err is raised in the script as `kind: message`.
    vm.register_fn("env_port", |name: String| -> Result<i64, HostError> {
        match name.as_str() {
            "http" => Ok(80),
            "https" => Ok(443),
            other => Err(HostError::new("KeyError", format!("no port for {other}"))),
        }
    });
    let value = vm
        .eval(
            r#"
            let ports = [env_port("http"), try { env_port("gopher") } catch e { e.kind }]
            [clamp(12.5, 0, 10), ports]
            "#,
        )
        .expect("the script runs");
    println!("{}", vm.display(value));
    assert_eq!(vm.display(value), "[10.0, [80, \"KeyError\"]]");

    // A script error reaches the host with its kind, message and trace.
    match vm
        .eval("fn check(x) { if x < 0 { throw error(\"ValueError\", \"negative\") } x }\ncheck(-1)")
    {
        Err(Error::Runtime { message, trace }) => {
            println!("script failed: {message} at {}", trace[0]);
            assert_eq!(message, "ValueError: negative");
        }
        other => panic!("expected a script error, got {other:?}"),
    }
}

#[test]
fn runs() {
    main();
}
