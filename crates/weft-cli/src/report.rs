//! Running and checking files, and reporting their failures the way LANGUAGE.md §5 prescribes.

use std::rc::Rc;

use weft_syntax::{Diagnostic, SourceFile};
use weft_vm::{Halt, Value, Vm};

use crate::{EXIT_COMPILE, EXIT_NOINPUT, EXIT_RUNTIME};

/// Reads a source file, or reports why it cannot be read.
pub fn read_source(path: &str) -> Result<Rc<SourceFile>, u8> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(SourceFile::new(path, text)),
        Err(e) => {
            eprintln!("error: cannot read '{path}': {e}");
            Err(EXIT_NOINPUT)
        }
    }
}

/// Prints every diagnostic with its source line and caret.
pub fn print_diagnostics(file: &SourceFile, diags: &[Diagnostic]) {
    let mut sorted: Vec<&Diagnostic> = diags.iter().collect();
    sorted.sort_by_key(|d| d.span.start);
    for diag in sorted {
        eprint!("{}", diag.render(file));
    }
}

/// `weft run FILE ARGS`.
pub fn run_file(path: &str, args: Vec<String>) -> u8 {
    let file = match read_source(path) {
        Ok(file) => file,
        Err(code) => return code,
    };
    let mut vm = Vm::new();
    vm.set_args(args);
    let module = vm.new_module("<main>");
    let main = match vm.compile(module, file.clone(), false) {
        Ok(main) => main,
        Err(diags) => {
            print_diagnostics(&file, &diags);
            return EXIT_COMPILE;
        }
    };
    vm.start(main, module);
    match vm.run_to_end() {
        Halt::Done(_) => 0,
        Halt::Error(value) => {
            print_uncaught(&vm, value);
            EXIT_RUNTIME
        }
        Halt::Exit(code) => code.clamp(0, 255) as u8,
        Halt::OutOfFuel => unreachable!("run_to_end never runs out of fuel"),
    }
}

/// Prints an uncaught error: `error: Kind: message`, then one `at` line per frame.
pub fn print_uncaught(vm: &Vm, value: Value) {
    eprintln!("error: {}", vm.display(value));
    for line in vm.error_trace(value) {
        match line.rsplit_once(' ') {
            Some((name, location)) => eprintln!("  at {name} ({location})"),
            None => eprintln!("  at {line}"),
        }
    }
}

/// `weft check FILE`.
pub fn check_file(path: &str) -> u8 {
    let file = match read_source(path) {
        Ok(file) => file,
        Err(code) => return code,
    };
    let mut vm = Vm::new();
    let module = vm.new_module("<main>");
    match vm.compile(module, file.clone(), false) {
        Ok(_) => 0,
        Err(diags) => {
            print_diagnostics(&file, &diags);
            EXIT_COMPILE
        }
    }
}
