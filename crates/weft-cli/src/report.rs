//! Running and checking files, and reporting their failures the way LANGUAGE.md §5 prescribes.

use std::io::Write;
use std::rc::Rc;

use weft_syntax::{Diagnostic, SourceFile};
use weft_vm::{FnProto, Halt, Value, Vm};

use crate::{EXIT_COMPILE, EXIT_NOINPUT, EXIT_RUNTIME};

/// A compiled program, ready to start.
pub struct Compiled {
    /// The VM it was compiled into.
    pub vm: Vm,
    /// The main module's top-level code.
    pub main: Rc<FnProto>,
    /// The main module.
    pub module: u32,
}

/// Reads and compiles a file into a fresh VM; on failure prints why and returns the exit code.
pub fn compile_file(path: &str) -> Result<Compiled, u8> {
    let file = match std::fs::read_to_string(path) {
        Ok(text) => SourceFile::new(path, text),
        Err(e) => {
            eprintln!("error: cannot read '{path}': {e}");
            return Err(EXIT_NOINPUT);
        }
    };
    let mut vm = Vm::new();
    let module = vm.new_module("<main>");
    match vm.compile(module, file.clone(), false) {
        Ok(main) => Ok(Compiled { vm, main, module }),
        Err(diags) => {
            print_diagnostics(&file, &diags);
            Err(EXIT_COMPILE)
        }
    }
}

/// Prints every diagnostic with its source line and caret, in source order.
pub fn print_diagnostics(file: &SourceFile, diags: &[Diagnostic]) {
    let mut sorted: Vec<&Diagnostic> = diags.iter().collect();
    sorted.sort_by_key(|d| d.span.start);
    for diag in sorted {
        eprint!("{}", diag.render(file));
    }
}

/// `weft run FILE ARGS`.
pub fn run_file(path: &str, args: Vec<String>, options: &weft_runtime::Options) -> u8 {
    let Compiled { mut vm, main, .. } = match compile_file(path) {
        Ok(compiled) => compiled,
        Err(code) => return code,
    };
    vm.set_args(args);
    options.apply(&mut vm);
    vm.start(main);
    let work = weft_runtime::install(&mut vm);
    match weft_runtime::run_blocking(&mut vm, options, &work) {
        Halt::Done(_) => 0,
        Halt::Error(value) => {
            print_uncaught(&vm, value);
            EXIT_RUNTIME
        }
        Halt::Exit(code) => code.clamp(0, 255) as u8,
        Halt::OutOfFuel | Halt::Idle { .. } => unreachable!("run_to_end runs to the end"),
    }
}

/// Prints an uncaught error on stderr: `error: Kind: message`, then one `at` line per frame.
pub fn print_uncaught(vm: &Vm, value: Value) {
    let _ = write_uncaught(vm, value, &mut std::io::stderr());
}

/// Writes an uncaught error: `error: Kind: message`, then one `at` line per frame and the
/// `spawned at` lines of an async trace.
pub fn write_uncaught(vm: &Vm, value: Value, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "error: {}", vm.display(value))?;
    for line in vm.error_trace(value) {
        if line.starts_with("...") {
            writeln!(out, "  {line}")?;
            continue;
        }
        let (prefix, frame) = match line.strip_prefix("spawned at ") {
            Some(frame) => ("spawned at", frame),
            None => ("at", line.as_str()),
        };
        match frame.rsplit_once(' ') {
            Some((name, location)) => writeln!(out, "  {prefix} {name} ({location})")?,
            None => writeln!(out, "  {prefix} {frame}")?,
        }
    }
    Ok(())
}

/// `weft check FILE`.
pub fn check_file(path: &str) -> u8 {
    match compile_file(path) {
        Ok(_) => 0,
        Err(code) => code,
    }
}
