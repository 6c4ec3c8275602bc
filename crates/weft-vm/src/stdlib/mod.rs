//! The standard library: the prelude's builtin functions, the methods of built-in types, and the
//! standard modules. Each submodule installs its part into a fresh VM.

mod args;
mod builtins;

pub use args::{arg_count, check_int, check_str};

use crate::vm::Vm;

/// Installs the whole standard library into `vm`.
pub fn install(vm: &mut Vm) {
    builtins::install(vm);
}
