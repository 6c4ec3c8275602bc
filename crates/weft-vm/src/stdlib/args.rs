//! Argument checking helpers shared by native functions, producing the messages of docs/errors.md.

use crate::error::{type_error, VmResult};
use crate::object::Str;
use crate::value::{Handle, Value};
use crate::vm::Vm;

/// Checks that a native got between `min` and `max` arguments.
pub fn arg_count(name: &str, args: &[Value], min: usize, max: usize) -> VmResult<()> {
    let n = args.len();
    if n >= min && n <= max {
        return Ok(());
    }
    let takes = if min == max {
        format!("{min} argument{}", if min == 1 { "" } else { "s" })
    } else {
        format!("{min} to {max} arguments")
    };
    Err(type_error(format!("{name}() takes {takes} but {n} were given")))
}

/// The int argument `value`, or a TypeError naming the function.
pub fn check_int(vm: &Vm, name: &str, value: Value) -> VmResult<i64> {
    match value {
        Value::Int(i) => Ok(i),
        other => Err(type_error(format!("{name}() argument must be int, not {}", vm.type_name(other)))),
    }
}

/// The string argument `value`, or a TypeError naming the function.
pub fn check_str(vm: &Vm, name: &str, value: Value) -> VmResult<Handle<Str>> {
    match value {
        Value::Str(s) => Ok(s),
        other => Err(type_error(format!("{name}() argument must be string, not {}", vm.type_name(other)))),
    }
}
