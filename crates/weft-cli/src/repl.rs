//! The interactive REPL: every line compiles into one persistent module, so definitions stay
//! visible; an open block asks for more lines; an expression's value is printed.

use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;
use weft_syntax::SourceFile;
use weft_vm::{Halt, Value, Vm};

use crate::report::{print_diagnostics, print_uncaught};

/// Runs the REPL until end of input.
pub fn run() -> u8 {
    let Ok(mut editor) = DefaultEditor::new() else {
        eprintln!("error: cannot start the line editor");
        return 1;
    };
    let history =
        std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".weft_history"));
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    println!(
        "Weft {} — type an expression, Ctrl-D to exit",
        env!("CARGO_PKG_VERSION")
    );
    let mut vm = Vm::new();
    let work = weft_runtime::install(&mut vm);
    let module = vm.new_module("<repl>");
    let mut buffer = String::new();
    let mut line_no = 0;
    loop {
        let prompt = if buffer.is_empty() { "> " } else { ". " };
        match editor.readline(prompt) {
            Ok(line) => {
                buffer.push_str(&line);
                buffer.push('\n');
                if weft_syntax::is_incomplete(&buffer) {
                    continue;
                }
                let _ = editor.add_history_entry(buffer.trim_end());
                line_no += 1;
                eval(
                    &mut vm,
                    &work,
                    module,
                    &format!("<repl:{line_no}>"),
                    &buffer,
                );
                buffer.clear();
            }
            Err(ReadlineError::Interrupted) => buffer.clear(),
            Err(_) => break,
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    0
}

fn eval(vm: &mut Vm, work: &weft_runtime::HostWork, module: u32, name: &str, source: &str) {
    let file = SourceFile::new(name, source);
    match vm.compile(module, file.clone(), true) {
        Ok(main) => {
            vm.start(main);
            match weft_runtime::run_blocking(vm, &weft_runtime::Options::default(), work) {
                Halt::Done(Value::Nil) => {}
                Halt::Done(value) => println!("{}", vm.repr(value)),
                Halt::Error(value) => print_uncaught(vm, value),
                Halt::Exit(code) => std::process::exit(code),
                Halt::OutOfFuel | Halt::Idle { .. } => {}
            }
        }
        Err(diags) => print_diagnostics(&file, &diags),
    }
}
