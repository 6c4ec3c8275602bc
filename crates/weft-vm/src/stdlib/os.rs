//! The `os` module: `args`, `env(name)`, `exit(code)`.

use super::args::{arg_count, check_int, check_str, opt_arg};
use crate::error::{Exc, VmResult};
use crate::object::List;
use crate::value::Value;
use crate::vm::Vm;

/// Installs the `os` module. `os.args` starts empty; [`Vm::set_args`] fills it.
pub fn install(vm: &mut Vm) {
    let args = vm.heap.alloc_list(Vec::new());
    let env = vm.native("os.env", env);
    let exit = vm.native("os.exit", exit);
    vm.register_module("os", vec![("args", args), ("env", env), ("exit", exit)]);
}

impl Vm {
    /// Sets the command-line arguments after the script: `vm.args` and the `os.args` list.
    pub fn set_args(&mut self, args: Vec<String>) {
        let items: List = args
            .iter()
            .map(|a| self.heap.alloc_str(a.as_str()))
            .collect();
        let list = self.heap.alloc_list(items);
        self.args = args;
        let Some(&id) = self.std_modules.get("os") else {
            return;
        };
        let module = &mut self.modules[id as usize];
        if let Some(slot) = module.scope.lookup("args") {
            module.globals[slot as usize] = list;
        }
    }
}

/// `env(name)`: the environment variable's value, or nil when it is unset (or not valid UTF-8).
fn env(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("os.env", args, 1, 1)?;
    let name = check_str(vm, "os.env", args[0])?;
    vm.check_env("os.env")?;
    let name = vm.heap.str(name).clone();
    if name.is_empty() || name.contains(['=', '\0']) {
        return Ok(Value::Nil);
    }
    match std::env::var(&*name) {
        Ok(value) => Ok(vm.heap.alloc_str(value)),
        Err(_) => Ok(Value::Nil),
    }
}

/// `exit(code = 0)`: ends the program at once with `code`. It unwinds the whole VM without running
/// `finally` blocks or handlers; the host (the CLI) turns `Halt::Exit` into the process exit code.
fn exit(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("os.exit", args, 0, 1)?;
    let code = match opt_arg(args, 0) {
        None => 0,
        Some(c) => check_int(vm, "os.exit", c)?,
    };
    Err(Exc::Exit(
        code.clamp(i32::MIN as i64, i32::MAX as i64) as i32
    ))
}

#[cfg(test)]
mod tests {
    use crate::vm::{Halt, Vm};

    #[test]
    fn set_args_fills_os_args() {
        let mut vm = Vm::new();
        vm.set_args(vec!["a".into(), "b c".into()]);
        assert_eq!(vm.args, ["a", "b c"]);
        let halt = vm
            .run_source(
                "t.weft",
                "import os\nassert(os.args == [\"a\", \"b c\"], str(os.args))",
            )
            .expect("compiles");
        assert!(
            matches!(halt, Halt::Done(_)),
            "{}",
            match halt {
                Halt::Error(e) => vm.display(e),
                _ => String::new(),
            }
        );
    }
}
