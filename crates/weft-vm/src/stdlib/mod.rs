//! The standard library: the prelude's builtin functions, the methods of built-in types, and the
//! standard modules. Each submodule installs its part into a fresh VM.

mod args;
mod builtins;
mod json;
mod lists;
mod maps;
mod math;
mod os;
mod prelude;
mod processes;
mod random;
mod strings;
mod tasks;

pub use args::{arg_count, check_int, check_list, check_num, check_str, method_args, opt_arg};

use crate::value::Value;
use crate::vm::Vm;

/// `json.stringify(value)`, for hosts and runtime modules that send Weft data out as JSON.
pub fn json_string(vm: &mut Vm, value: Value) -> crate::error::VmResult<String> {
    json::to_json(vm, value, None)
}

/// Installs the whole standard library into `vm`.
pub fn install(vm: &mut Vm) {
    builtins::install(vm);
    strings::install(vm);
    lists::install(vm);
    maps::install(vm);
    math::install(vm);
    json::install(vm);
    os::install(vm);
    random::install(vm);
    tasks::install(vm);
    processes::install(vm);
    // Last: the prelude's Weft code sees every native above.
    prelude::install(vm);
}
