//! The prelude's functions: `print`, `eprint`, `str`, `type`, `len`, `int`, `float`, `range`,
//! `assert`, `error`.

use std::rc::Rc;

use super::args::{arg_count, check_int, check_str};
use crate::error::{raise, type_error, value_error, VmResult};
use crate::format::int_text;
use crate::object::{ErrorObj, RangeObj};
use crate::value::Value;
use crate::vm::Vm;

/// Installs the prelude functions.
pub fn install(vm: &mut Vm) {
    vm.register_fn("print", print);
    vm.register_fn("eprint", eprint);
    vm.register_fn("str", str_fn);
    vm.register_fn("type", type_fn);
    vm.register_fn("len", len);
    vm.register_fn("int", int);
    vm.register_fn("float", float);
    vm.register_fn("range", range);
    vm.register_fn("assert", assert);
    vm.register_fn("error", error);
}

fn joined(vm: &Vm, args: &[Value]) -> String {
    let parts: Vec<String> = args.iter().map(|v| vm.display(*v)).collect();
    parts.join(" ")
}

fn print(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    let mut line = joined(vm, args);
    line.push('\n');
    vm.write_out(&line);
    Ok(Value::Nil)
}

fn eprint(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    let line = joined(vm, args);
    vm.flush();
    eprintln!("{line}");
    Ok(Value::Nil)
}

fn str_fn(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("str", args, 1, 1)?;
    match args[0] {
        Value::Str(_) => return Ok(args[0]),
        // The common case: an int's text always fits in the string's slot (`Text`).
        Value::Int(i) => return Ok(vm.heap.alloc_str(int_text(i, &mut itoa::Buffer::new()))),
        _ => {}
    }
    let text = vm.display(args[0]);
    Ok(vm.heap.alloc_str(text))
}

fn type_fn(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("type", args, 1, 1)?;
    let name = vm.type_name(args[0]);
    Ok(vm.heap.alloc_str(name))
}

fn len(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("len", args, 1, 1)?;
    let n = match args[0] {
        Value::Str(s) => vm.heap.strings.get(s).char_len() as i64,
        Value::List(l) => vm.heap.lists.get(l).len() as i64,
        Value::Map(m) => vm.heap.maps.get(m).len() as i64,
        Value::Range(r) => vm.heap.ranges.get(r).len(),
        other => {
            return Err(type_error(format!(
                "len() argument must be string, list, map or range, not {}",
                vm.type_name(other)
            )))
        }
    };
    Ok(Value::Int(n))
}

fn int(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("int", args, 1, 1)?;
    match args[0] {
        Value::Int(i) => Ok(Value::Int(i)),
        Value::Float(f) => {
            if f.is_finite() && f.abs() < 9.3e18 {
                Ok(Value::Int(f.trunc() as i64))
            } else {
                Err(raise(
                    "OverflowError",
                    format!("cannot convert {} to int", vm.display(args[0])),
                ))
            }
        }
        Value::Bool(b) => Ok(Value::Int(b as i64)),
        Value::Str(s) => {
            let text = vm.heap.str(s).trim().replace('_', "");
            text.parse::<i64>()
                .map(Value::Int)
                .map_err(|_| value_error(format!("invalid int: {}", vm.repr(args[0]))))
        }
        other => Err(type_error(format!(
            "int() argument must be string, int, float or bool, not {}",
            vm.type_name(other)
        ))),
    }
}

fn float(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("float", args, 1, 1)?;
    match args[0] {
        Value::Int(i) => Ok(Value::Float(i as f64)),
        Value::Float(f) => Ok(Value::Float(f)),
        Value::Bool(b) => Ok(Value::Float(b as i64 as f64)),
        Value::Str(s) => parse_float_text(vm.heap.str(s))
            .map(Value::Float)
            .ok_or_else(|| value_error(format!("invalid float: {}", vm.repr(args[0])))),
        other => Err(type_error(format!(
            "float() argument must be string, int, float or bool, not {}",
            vm.type_name(other)
        ))),
    }
}

/// `range(end)`, `range(start, end)`, `range(start, end, step)`.
fn range(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("range", args, 1, 3)?;
    let ints: Vec<i64> = args
        .iter()
        .map(|a| check_int(vm, "range", *a))
        .collect::<VmResult<_>>()?;
    let (start, end, step) = match ints.as_slice() {
        [end] => (0, *end, 1),
        [start, end] => (*start, *end, 1),
        [start, end, step] => (*start, *end, *step),
        _ => unreachable!("arity checked"),
    };
    if step == 0 {
        return Err(value_error("range() step must not be zero"));
    }
    Ok(vm.heap.alloc_range(RangeObj {
        start: Some(start),
        end: Some(end),
        inclusive: false,
        step,
    }))
}

fn assert(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("assert", args, 1, 2)?;
    if args[0].truthy() {
        return Ok(Value::Nil);
    }
    let message = match args.get(1) {
        Some(m) => vm.display(*m),
        None => "assertion failed".to_string(),
    };
    Err(raise("AssertionError", message))
}

/// `error(kind, message)` builds an error value (with the trace of where it was built).
fn error(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("error", args, 1, 2)?;
    let (kind, message) = match args {
        [message] => (Rc::from("Error"), vm.display(*message)),
        [kind, message] => {
            let kind = check_str(vm, "error", *kind)?;
            (vm.heap.str(kind).to_rc(), vm.display(*message))
        }
        _ => unreachable!("arity checked"),
    };
    let trace = vm.trace();
    Ok(vm.heap.alloc_error(ErrorObj {
        kind,
        message: Rc::from(message),
        trace,
        fields: Vec::new(),
    }))
}

/// Parses a float the way `float(s)` and `s.parse_float()` do: surrounding blanks ignored, and
/// `inf`, `-inf`, `infinity`, `nan` in any case.
pub(crate) fn parse_float_text(text: &str) -> Option<f64> {
    let lowered = text.trim().to_ascii_lowercase();
    match lowered.as_str() {
        "inf" | "+inf" | "infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        t => t.parse::<f64>().ok(),
    }
}
