//! The `math` module, and the builtins `abs`, `min` and `max`.
//!
//! Functions take ints or floats. `floor`, `ceil`, `round` and `trunc` return ints (Python 3 style);
//! `abs`, `min` and `max` keep ints as ints. A real function given an argument outside its domain
//! (`sqrt(-1)`, `log(0)`, `asin(2)`) raises `ValueError: math domain error`.

use super::args::{arg_count, check_int, check_num, opt_arg};
use super::lists::extreme;
use crate::error::{raise, type_error, value_error, Exc, VmResult};
use crate::ops::Arith;
use crate::value::Value;
use crate::vm::{NativeFn, Vm};

/// Installs the `math` module and the `abs`, `min`, `max` builtins.
pub fn install(vm: &mut Vm) {
    vm.register_fn("abs", abs_builtin);
    vm.register_fn("min", min_builtin);
    vm.register_fn("max", max_builtin);
    let functions: [(&str, &'static str, NativeFn); 27] = [
        ("sqrt", "math.sqrt", sqrt),
        ("abs", "math.abs", abs),
        ("floor", "math.floor", floor),
        ("ceil", "math.ceil", ceil),
        ("round", "math.round", round),
        ("trunc", "math.trunc", trunc),
        ("sin", "math.sin", sin),
        ("cos", "math.cos", cos),
        ("tan", "math.tan", tan),
        ("asin", "math.asin", asin),
        ("acos", "math.acos", acos),
        ("atan", "math.atan", atan),
        ("atan2", "math.atan2", atan2),
        ("exp", "math.exp", exp),
        ("log", "math.log", log),
        ("log2", "math.log2", log2),
        ("log10", "math.log10", log10),
        ("pow", "math.pow", pow),
        ("min", "math.min", min),
        ("max", "math.max", max),
        ("hypot", "math.hypot", hypot),
        ("is_nan", "math.is_nan", is_nan),
        ("is_inf", "math.is_inf", is_inf),
        ("is_finite", "math.is_finite", is_finite),
        ("sign", "math.sign", sign),
        ("clamp", "math.clamp", clamp),
        ("gcd", "math.gcd", gcd),
    ];
    let mut members: Vec<(&str, Value)> = vec![
        ("pi", Value::Float(std::f64::consts::PI)),
        ("e", Value::Float(std::f64::consts::E)),
        ("tau", Value::Float(std::f64::consts::TAU)),
        ("inf", Value::Float(f64::INFINITY)),
        ("nan", Value::Float(f64::NAN)),
    ];
    for (member, name, func) in functions {
        let value = vm.native(name, func);
        members.push((member, value));
    }
    vm.register_module("math", members);
}

fn domain_error() -> Exc {
    value_error("math domain error")
}

/// Applies a real function, raising a domain error when a number argument gives NaN.
fn real(vm: &Vm, name: &str, args: &[Value], f: fn(f64) -> f64) -> VmResult<Value> {
    arg_count(name, args, 1, 1)?;
    let x = check_num(vm, name, args[0])?;
    let y = f(x);
    if y.is_nan() && !x.is_nan() {
        return Err(domain_error());
    }
    Ok(Value::Float(y))
}

fn sqrt(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    real(vm, "math.sqrt", args, f64::sqrt)
}

fn sin(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    real(vm, "math.sin", args, f64::sin)
}

fn cos(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    real(vm, "math.cos", args, f64::cos)
}

fn tan(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    real(vm, "math.tan", args, f64::tan)
}

fn asin(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    real(vm, "math.asin", args, f64::asin)
}

fn acos(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    real(vm, "math.acos", args, f64::acos)
}

fn atan(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    real(vm, "math.atan", args, f64::atan)
}

fn exp(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    real(vm, "math.exp", args, f64::exp)
}

/// A logarithm: only defined for positive arguments.
fn positive(vm: &Vm, name: &str, value: Value) -> VmResult<f64> {
    let x = check_num(vm, name, value)?;
    if x <= 0.0 {
        return Err(domain_error());
    }
    Ok(x)
}

fn log2(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("math.log2", args, 1, 1)?;
    Ok(Value::Float(positive(vm, "math.log2", args[0])?.log2()))
}

fn log10(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("math.log10", args, 1, 1)?;
    Ok(Value::Float(positive(vm, "math.log10", args[0])?.log10()))
}

/// `log(x, base = e)`.
fn log(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("math.log", args, 1, 2)?;
    let x = positive(vm, "math.log", args[0])?;
    match opt_arg(args, 1) {
        None => Ok(Value::Float(x.ln())),
        Some(base) => {
            let base = positive(vm, "math.log", base)?;
            if base == 1.0 {
                return Err(domain_error());
            }
            Ok(Value::Float(x.ln() / base.ln()))
        }
    }
}

fn atan2(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("math.atan2", args, 2, 2)?;
    let y = check_num(vm, "math.atan2", args[0])?;
    let x = check_num(vm, "math.atan2", args[1])?;
    Ok(Value::Float(y.atan2(x)))
}

fn hypot(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("math.hypot", args, 2, 2)?;
    let x = check_num(vm, "math.hypot", args[0])?;
    let y = check_num(vm, "math.hypot", args[1])?;
    Ok(Value::Float(x.hypot(y)))
}

/// `pow(x, y)`: the same as `x ** y`.
fn pow(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("math.pow", args, 2, 2)?;
    check_num(vm, "math.pow", args[0])?;
    check_num(vm, "math.pow", args[1])?;
    vm.arith(Arith::Pow, args[0], args[1])
}

/// A float with an integral value as an int; OverflowError when it is not finite or too large.
pub(crate) fn float_to_int(vm: &Vm, f: f64) -> VmResult<Value> {
    // 2^63 as f64: the smallest float too large for an i64.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_finite() && (-TWO_63..TWO_63).contains(&f) {
        Ok(Value::Int(f as i64))
    } else {
        Err(raise(
            "OverflowError",
            format!("cannot convert {} to int", vm.display(Value::Float(f))),
        ))
    }
}

/// An int rounding function: ints are returned as they are.
fn to_int(vm: &Vm, name: &str, args: &[Value], f: fn(f64) -> f64) -> VmResult<Value> {
    arg_count(name, args, 1, 1)?;
    match args[0] {
        Value::Int(i) => Ok(Value::Int(i)),
        other => {
            let x = check_num(vm, name, other)?;
            float_to_int(vm, f(x))
        }
    }
}

fn floor(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    to_int(vm, "math.floor", args, f64::floor)
}

fn ceil(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    to_int(vm, "math.ceil", args, f64::ceil)
}

fn trunc(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    to_int(vm, "math.trunc", args, f64::trunc)
}

/// `round(x, ndigits?)`: halves round to even. Without `ndigits` the result is an int; with it, a
/// float rounded to that many decimals (an int stays an int; negative `ndigits` round to tens,
/// hundreds...).
fn round(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("math.round", args, 1, 2)?;
    let digits = match opt_arg(args, 1) {
        None | Some(Value::Nil) => None,
        Some(d) => Some(check_int(vm, "math.round", d)?),
    };
    match (args[0], digits) {
        (Value::Int(i), None) => Ok(Value::Int(i)),
        (Value::Int(i), Some(d)) => round_int(i, d),
        (x, None) => {
            let x = check_num(vm, "math.round", x)?;
            float_to_int(vm, x.round_ties_even())
        }
        (x, Some(d)) => {
            let x = check_num(vm, "math.round", x)?;
            Ok(Value::Float(round_float(x, d)))
        }
    }
}

/// Rounds an int to `digits` decimals (only negative `digits` change it), halves to even.
fn round_int(i: i64, digits: i64) -> VmResult<Value> {
    if digits >= 0 {
        return Ok(Value::Int(i));
    }
    if digits < -18 {
        return Ok(Value::Int(0));
    }
    let p = 10i128.pow((-digits) as u32);
    let x = i as i128;
    let (q, r) = (x.div_euclid(p), x.rem_euclid(p));
    let q = if 2 * r > p || (2 * r == p && q % 2 != 0) {
        q + 1
    } else {
        q
    };
    i64::try_from(q * p)
        .map(Value::Int)
        .map_err(|_| raise("OverflowError", "integer overflow"))
}

/// Rounds a float to `digits` decimals, halves (of the exact binary value) to even.
fn round_float(x: f64, digits: i64) -> f64 {
    if !x.is_finite() || digits > 330 {
        return x;
    }
    if digits >= 0 {
        // Formatting rounds the exact binary value correctly, ties to even.
        return format!("{x:.0$}", digits as usize).parse().unwrap_or(x);
    }
    let p = 10f64.powi(-(digits.max(-400)) as i32);
    if p.is_infinite() {
        return 0.0 * x.signum();
    }
    (x / p).round_ties_even() * p
}

fn abs_of(vm: &Vm, name: &str, args: &[Value]) -> VmResult<Value> {
    arg_count(name, args, 1, 1)?;
    match args[0] {
        Value::Int(i) => i
            .checked_abs()
            .map(Value::Int)
            .ok_or_else(|| raise("OverflowError", "integer overflow")),
        Value::Float(f) => Ok(Value::Float(f.abs())),
        other => Err(type_error(format!(
            "{name}() argument must be int or float, not {}",
            vm.type_name(other)
        ))),
    }
}

fn abs(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    abs_of(vm, "math.abs", args)
}

fn abs_builtin(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    abs_of(vm, "abs", args)
}

/// `min(a, b, ...)` or `min(list)`: numbers or strings; the first of equal values wins.
fn min_max(vm: &Vm, name: &str, args: &[Value], greatest: bool) -> VmResult<Value> {
    match args {
        [] => Err(type_error(format!(
            "{name}() takes at least 1 argument but 0 were given"
        ))),
        [Value::List(l)] => extreme(vm, name, vm.heap.lists.get(*l), greatest),
        [other] => Err(type_error(format!(
            "{name}() argument must be list, not {}",
            vm.type_name(*other)
        ))),
        _ => extreme(vm, name, args, greatest),
    }
}

fn min(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    min_max(vm, "math.min", args, false)
}

fn max(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    min_max(vm, "math.max", args, true)
}

fn min_builtin(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    min_max(vm, "min", args, false)
}

fn max_builtin(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    min_max(vm, "max", args, true)
}

fn float_test(vm: &Vm, name: &str, args: &[Value], test: fn(f64) -> bool) -> VmResult<Value> {
    arg_count(name, args, 1, 1)?;
    Ok(Value::Bool(test(check_num(vm, name, args[0])?)))
}

fn is_nan(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    float_test(vm, "math.is_nan", args, f64::is_nan)
}

fn is_inf(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    float_test(vm, "math.is_inf", args, f64::is_infinite)
}

fn is_finite(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    float_test(vm, "math.is_finite", args, f64::is_finite)
}

/// `sign(x)`: -1, 0 or 1, of the same type as `x` (NaN gives NaN).
fn sign(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("math.sign", args, 1, 1)?;
    match args[0] {
        Value::Int(i) => Ok(Value::Int(i.signum())),
        other => {
            let x = check_num(vm, "math.sign", other)?;
            Ok(Value::Float(if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                x
            }))
        }
    }
}

/// `clamp(x, lo, hi)`: `lo` if `x < lo`, `hi` if `x > hi`, else `x`.
fn clamp(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("math.clamp", args, 3, 3)?;
    for &a in args {
        check_num(vm, "math.clamp", a)?;
    }
    let (x, lo, hi) = (args[0], args[1], args[2]);
    if vm.compare(lo, hi)? == Some(std::cmp::Ordering::Greater) {
        return Err(value_error(
            "math.clamp() lower bound is greater than the upper bound",
        ));
    }
    Ok(if vm.compare(x, lo)? == Some(std::cmp::Ordering::Less) {
        lo
    } else if vm.compare(x, hi)? == Some(std::cmp::Ordering::Greater) {
        hi
    } else {
        x
    })
}

/// `gcd(a, b)`: the greatest common divisor of two ints (never negative).
fn gcd(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("math.gcd", args, 2, 2)?;
    let (mut a, mut b) = (
        check_int(vm, "math.gcd", args[0])?.unsigned_abs(),
        check_int(vm, "math.gcd", args[1])?.unsigned_abs(),
    );
    while b != 0 {
        (a, b) = (b, a % b);
    }
    i64::try_from(a)
        .map(Value::Int)
        .map_err(|_| raise("OverflowError", "integer overflow"))
}
