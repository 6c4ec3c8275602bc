//! The `process` module (LANGUAGE.md §8): `process.run(cmd, args, {stdin, timeout})` runs a
//! subprocess on tokio and gives `{code, stdout, stderr}`; the calling task waits, the others run.
//! Needs `--allow-run`. A `timeout` (ms) kills the child and raises `Timeout`.

use std::process::Stdio;
use std::rc::Rc;
use std::time::Duration;

use weft_vm::stdlib::{arg_count, check_list, check_str};
use weft_vm::{type_error, Key, Map, NativeClosure, Value, Vm, VmResult};

use crate::host_work::{Completion, HostWork};

/// Installs `process` with its operations going through `work`.
pub(crate) fn install(vm: &mut Vm, work: &Rc<HostWork>) {
    let run = vm.native_closure("process.run", run(work.clone()));
    vm.register_module("process", vec![("run", run)]);
}

/// How a run ended.
enum Ran {
    Exited {
        code: i64,
        stdout: String,
        stderr: String,
    },
    TimedOut(u64),
    Failed(String),
}

fn run(work: Rc<HostWork>) -> NativeClosure {
    Rc::new(move |vm: &mut Vm, args: &[Value]| -> VmResult<Value> {
        arg_count("process.run", args, 1, 3)?;
        let cmd = check_str(vm, "process.run", args[0])?;
        let cmd = vm.heap.str(cmd).to_string();
        let mut argv = Vec::new();
        if let Some(&list) = args.get(1) {
            let list = check_list(vm, "process.run", list)?;
            for item in vm.heap.lists.get(list).clone() {
                match item {
                    Value::Str(s) => argv.push(vm.heap.str(s).to_string()),
                    other => {
                        return Err(type_error(format!(
                            "process.run() arguments must be strings, not {}",
                            vm.type_name(other)
                        )))
                    }
                }
            }
        }
        let (stdin, timeout) = options(vm, args.get(2).copied())?;
        vm.check_run(&cmd)?;
        let (op, parked) = vm.park_on_host();
        work.start(op, async move {
            let ran = spawn_and_wait(&cmd, &argv, stdin, timeout).await;
            Box::new(move |vm: &mut Vm| match ran {
                Ran::Exited {
                    code,
                    stdout,
                    stderr,
                } => {
                    let mut map = Map::default();
                    map.insert(Key::Str("code".into()), Value::Int(code));
                    let out = vm.heap.alloc_str(stdout);
                    map.insert(Key::Str("stdout".into()), out);
                    let err = vm.heap.alloc_str(stderr);
                    map.insert(Key::Str("stderr".into()), err);
                    Ok(vm.heap.alloc_map(map))
                }
                Ran::TimedOut(ms) => Err(vm.new_error(
                    "Timeout",
                    &format!("'{cmd}' did not finish within {ms} ms and was killed"),
                )),
                Ran::Failed(message) => {
                    Err(vm.new_error("IOError", &format!("cannot run '{cmd}': {message}")))
                }
            }) as Completion
        });
        Err(parked)
    })
}

/// `{stdin: text, timeout: ms}`, both optional.
fn options(vm: &Vm, value: Option<Value>) -> VmResult<(Option<String>, Option<u64>)> {
    let Some(Value::Map(m)) = value else {
        return match value {
            None | Some(Value::Nil) => Ok((None, None)),
            Some(other) => Err(type_error(format!(
                "process.run() options must be a map, not {}",
                vm.type_name(other)
            ))),
        };
    };
    let map = vm.heap.maps.get(m);
    let stdin = match map.get(&Key::Str("stdin".into())) {
        Some(Value::Str(s)) => Some(vm.heap.str(*s).to_string()),
        _ => None,
    };
    let timeout = match map.get(&Key::Str("timeout".into())) {
        Some(Value::Int(ms)) => Some((*ms).max(0) as u64),
        Some(Value::Float(ms)) => Some(ms.max(0.0) as u64),
        _ => None,
    };
    Ok((stdin, timeout))
}

async fn spawn_and_wait(
    cmd: &str,
    argv: &[String],
    stdin: Option<String>,
    timeout: Option<u64>,
) -> Ran {
    use tokio::io::AsyncWriteExt;
    let mut command = tokio::process::Command::new(cmd);
    command
        .args(argv)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return Ran::Failed(e.to_string()),
    };
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A child that exits without reading its input is not an error of ours.
        let _ = pipe.write_all(text.as_bytes()).await;
    }
    let output = child.wait_with_output();
    let output = match timeout {
        Some(ms) => match tokio::time::timeout(Duration::from_millis(ms), output).await {
            Ok(output) => output,
            // Dropping the future drops the child, which kill_on_drop kills.
            Err(_) => return Ran::TimedOut(ms),
        },
        None => output.await,
    };
    match output {
        Ok(output) => Ran::Exited {
            code: output.status.code().map_or(-1, i64::from),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        },
        Err(e) => Ran::Failed(e.to_string()),
    }
}
