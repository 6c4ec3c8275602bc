//! Argument checking helpers shared by native functions, producing the messages of docs/errors.md.

use crate::error::{type_error, Exc, VmResult};
use crate::object::{List, Str};
use crate::value::{Handle, Value};
use crate::vm::{NativeFn, TypeTag, Vm};

/// Checks that a native got between `min` and `max` arguments.
///
/// The check is inlined into each native and the message is built out of line: as one
/// function, every native call paid a call of it (callgrind, strings 100k: 3.6M instructions).
#[inline(always)]
pub fn arg_count(name: &str, args: &[Value], min: usize, max: usize) -> VmResult<()> {
    let n = args.len();
    if n >= min && n <= max {
        Ok(())
    } else {
        Err(arity_error(name, n, min, max))
    }
}

#[cold]
#[inline(never)]
fn arity_error(name: &str, n: usize, min: usize, max: usize) -> Exc {
    let takes = if min == max {
        format!("{min} argument{}", if min == 1 { "" } else { "s" })
    } else {
        format!("{min} to {max} arguments")
    };
    type_error(format!("{name}() takes {takes} but {n} were given"))
}

/// The int argument `value`, or a TypeError naming the function.
pub fn check_int(vm: &Vm, name: &str, value: Value) -> VmResult<i64> {
    match value {
        Value::Int(i) => Ok(i),
        other => Err(type_error(format!(
            "{name}() argument must be int, not {}",
            vm.type_name(other)
        ))),
    }
}

/// The string argument `value`, or a TypeError naming the function.
pub fn check_str(vm: &Vm, name: &str, value: Value) -> VmResult<Handle<Str>> {
    match value {
        Value::Str(s) => Ok(s),
        other => Err(type_error(format!(
            "{name}() argument must be string, not {}",
            vm.type_name(other)
        ))),
    }
}

/// Checks the argument count of a method: `args[0]` is the receiver and does not count.
#[inline(always)]
pub fn method_args(name: &str, args: &[Value], min: usize, max: usize) -> VmResult<()> {
    arg_count(name, args.get(1..).unwrap_or(&[]), min, max)
}

/// The number argument `value` as a float (ints are converted), or a TypeError naming the function.
pub fn check_num(vm: &Vm, name: &str, value: Value) -> VmResult<f64> {
    match value {
        Value::Int(i) => Ok(i as f64),
        Value::Float(f) => Ok(f),
        other => Err(type_error(format!(
            "{name}() argument must be int or float, not {}",
            vm.type_name(other)
        ))),
    }
}

/// The list argument `value`, or a TypeError naming the function.
pub fn check_list(vm: &Vm, name: &str, value: Value) -> VmResult<Handle<List>> {
    match value {
        Value::List(l) => Ok(l),
        other => Err(type_error(format!(
            "{name}() argument must be list, not {}",
            vm.type_name(other)
        ))),
    }
}

/// An optional argument: `None` when it was not given (or is the internal missing marker).
pub fn opt_arg(args: &[Value], index: usize) -> Option<Value> {
    match args.get(index) {
        None | Some(Value::Undef) => None,
        Some(v) => Some(*v),
    }
}

/// Registers a native method under a qualified name such as `"list.push"`: the part after the
/// last `.` is the method name, the whole is what `<fn ...>` and error messages show.
pub fn register(vm: &mut Vm, tag: TypeTag, qualified: &'static str, func: NativeFn) {
    let value = vm.native(qualified, func);
    let short = qualified.rsplit_once('.').map_or(qualified, |(_, m)| m);
    let key = vm.heap.intern(short);
    vm.methods.insert((tag, key), value);
}
