//! `weft test [DIR]`: runs every `test_*` function of every `*_test.weft` file under DIR.
//!
//! Each file is compiled into a fresh VM on virtual time and its top level runs once. Then each
//! `test_*` function, in definition order, runs as the main task of its own program: a fresh root
//! scope (so its tasks cannot leak into the next test) and a clock reset to 0 (so its timings are
//! exact). A test passes when it returns; an uncaught error, a deadlock or a failed `assert` fails
//! it. The summary line is `N passed, N failed`; the exit code is 0 when nothing failed, 70
//! otherwise (65 when a file does not compile).

use std::path::{Path, PathBuf};

use weft_vm::{Halt, Value};

use crate::report::{compile_file, write_uncaught, Compiled};
use crate::{EXIT_COMPILE, EXIT_NOINPUT, EXIT_RUNTIME};

/// `weft test DIR`.
pub fn run_tests(dir: &str) -> u8 {
    let root = Path::new(dir);
    if !root.exists() {
        eprintln!("error: no such directory '{dir}'");
        return EXIT_NOINPUT;
    }
    let mut files = Vec::new();
    collect_test_files(root, &mut files);
    files.sort();
    let (mut passed, mut failed, mut broken) = (0, 0, false);
    for file in &files {
        let path = file.to_string_lossy().into_owned();
        println!("{path}");
        let Ok(Compiled {
            mut vm,
            main,
            module,
        }) = compile_file(&path)
        else {
            broken = true;
            continue;
        };
        let work = weft_runtime::install(&mut vm);
        let options = weft_runtime::Options {
            virtual_time: true,
            ..Default::default()
        };
        options.apply(&mut vm);
        vm.start(main);
        if let Halt::Error(error) = weft_runtime::run_blocking(&mut vm, &options, &work) {
            println!("  FAIL <top level>");
            report_failure(&vm, error);
            failed += 1;
            continue;
        }
        let tests: Vec<(String, Value)> = vm
            .global_names(module)
            .iter()
            .filter(|name| name.starts_with("test_"))
            .filter_map(|name| {
                let value = vm.global(module, name)?;
                matches!(value, Value::Func(_)).then(|| (name.to_string(), value))
            })
            .collect();
        for (name, func) in tests {
            vm.set_virtual_time(true);
            vm.start_function(func);
            match weft_runtime::run_blocking(&mut vm, &options, &work) {
                Halt::Done(_) => {
                    println!("  ok   {name}");
                    passed += 1;
                }
                Halt::Error(error) => {
                    println!("  FAIL {name}");
                    report_failure(&vm, error);
                    failed += 1;
                }
                Halt::Exit(code) => {
                    println!("  FAIL {name} (called os.exit({code}))");
                    failed += 1;
                }
                Halt::OutOfFuel | Halt::Idle { .. } => unreachable!("run_blocking runs to the end"),
            }
        }
        vm.flush();
    }
    println!("{passed} passed, {failed} failed");
    if broken {
        EXIT_COMPILE
    } else if failed > 0 {
        EXIT_RUNTIME
    } else {
        0
    }
}

/// The error of a failed test, indented under its name on stdout.
fn report_failure(vm: &weft_vm::Vm, error: Value) {
    let mut text = Vec::new();
    let _ = write_uncaught(vm, error, &mut text);
    for line in String::from_utf8_lossy(&text).lines() {
        println!("      {line}");
    }
}

/// Every `*_test.weft` under `dir`, recursively (a file argument counts as itself).
fn collect_test_files(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_test_files(&path, out);
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with("_test.weft"))
        {
            out.push(path);
        }
    }
}
