//! Methods of strings. Strings are immutable UTF-8; every position a method takes or returns counts
//! characters, not bytes.

use crate::text::Text;

use super::args::{check_int, check_str, method_args, opt_arg, register};
use crate::error::{raise, type_error, value_error, VmResult};
use crate::object::{List, Str};
use crate::value::{Handle, Value};
use crate::vm::{TypeTag, Vm};

/// Installs the string methods.
pub fn install(vm: &mut Vm) {
    let methods: [(&'static str, crate::vm::NativeFn); 24] = [
        ("string.len", len),
        ("string.is_empty", is_empty),
        ("string.split", split),
        ("string.lines", lines),
        ("string.join", join),
        ("string.trim", trim),
        ("string.trim_start", trim_start),
        ("string.trim_end", trim_end),
        ("string.starts_with", starts_with),
        ("string.ends_with", ends_with),
        ("string.contains", contains),
        ("string.find", find),
        ("string.replace", replace),
        ("string.upper", upper),
        ("string.lower", lower),
        ("string.chars", chars),
        ("string.bytes", bytes),
        ("string.repeat", repeat),
        ("string.parse_int", parse_int),
        ("string.parse_float", parse_float),
        ("string.format", format),
        ("string.count", count),
        ("string.strip_prefix", strip_prefix),
        ("string.strip_suffix", strip_suffix),
    ];
    for (name, func) in methods {
        register(vm, TypeTag::Str, name, func);
    }
}

/// The receiver's text.
fn this(vm: &Vm, args: &[Value]) -> VmResult<Text> {
    match args.first() {
        Some(Value::Str(s)) => Ok(vm.heap.str(*s).clone()),
        Some(other) => Err(type_error(format!(
            "expected a string receiver, not {}",
            vm.type_name(*other)
        ))),
        None => Err(type_error("missing receiver")),
    }
}

/// The string argument `index` (after the receiver) as text.
fn str_arg(vm: &Vm, name: &str, args: &[Value], index: usize) -> VmResult<Text> {
    let h: Handle<Str> = check_str(vm, name, args[index])?;
    Ok(vm.heap.str(h).clone())
}

/// Character index of byte offset `byte` in `text`.
fn char_index(text: &str, byte: usize) -> usize {
    if text.is_ascii() {
        byte
    } else {
        text[..byte].chars().count()
    }
}

fn new_str(vm: &mut Vm, text: impl Into<Text>) -> Value {
    vm.heap.alloc_str(text)
}

/// Returns the receiver itself when the result equals it (no allocation).
fn same_or_new(vm: &mut Vm, args: &[Value], original: &str, result: &str) -> Value {
    if original.len() == result.len() {
        args[0]
    } else {
        new_str(vm, result)
    }
}

fn str_list(vm: &mut Vm, parts: Vec<&str>) -> Value {
    let items: List = parts.into_iter().map(|p| vm.heap.alloc_str(p)).collect();
    vm.heap.alloc_list(items)
}

fn len(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("string.len", args, 0, 0)?;
    let Value::Str(s) = args[0] else {
        return Err(type_error("expected a string receiver"));
    };
    Ok(Value::Int(vm.heap.strings.get(s).char_len() as i64))
}

fn is_empty(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("string.is_empty", args, 0, 0)?;
    Ok(Value::Bool(this(vm, args)?.is_empty()))
}

/// `split(sep?)`: at every `sep`; without a separator (or `nil`), at runs of whitespace.
fn split(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("string.split", args, 0, 1)?;
    let text = this(vm, args)?;
    match opt_arg(args, 1) {
        None | Some(Value::Nil) => Ok(str_list(vm, text.split_whitespace().collect())),
        Some(sep) => {
            let sep = check_str(vm, "string.split", sep)?;
            let sep = vm.heap.str(sep).clone();
            if sep.is_empty() {
                return Err(value_error("empty separator"));
            }
            Ok(str_list(vm, text.split(&*sep).collect()))
        }
    }
}

/// `lines()`: split at `\n` (a `\r\n` counts as one line end); no final empty line.
fn lines(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("string.lines", args, 0, 0)?;
    let text = this(vm, args)?;
    Ok(str_list(vm, text.lines().collect()))
}

/// `sep.join(xs)`: the elements of an iterable, converted with `str`, with `sep` between them.
fn join(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("string.join", args, 1, 1)?;
    let sep = this(vm, args)?;
    let items = match args[1] {
        Value::List(l) => vm.heap.lists.get(l).to_vec(),
        Value::Range(_) | Value::Str(_) => vm.iterate(args[1])?,
        other => {
            return Err(type_error(format!(
                "string.join() argument must be list, not {}",
                vm.type_name(other)
            )))
        }
    };
    let text = join_values(vm, &items, &sep);
    Ok(new_str(vm, text))
}

/// Joins values converted with `str`.
pub(crate) fn join_values(vm: &Vm, items: &[Value], sep: &str) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        match item {
            Value::Str(s) => out.push_str(vm.heap.str(*s)),
            other => out.push_str(&vm.display(*other)),
        }
    }
    out
}

fn trim(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("string.trim", args, 0, 0)?;
    let text = this(vm, args)?;
    Ok(same_or_new(vm, args, &text, text.trim()))
}

fn trim_start(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("string.trim_start", args, 0, 0)?;
    let text = this(vm, args)?;
    Ok(same_or_new(vm, args, &text, text.trim_start()))
}

fn trim_end(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("string.trim_end", args, 0, 0)?;
    let text = this(vm, args)?;
    Ok(same_or_new(vm, args, &text, text.trim_end()))
}

fn starts_with(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("string.starts_with", args, 1, 1)?;
    let text = this(vm, args)?;
    let prefix = str_arg(vm, "string.starts_with", args, 1)?;
    Ok(Value::Bool(text.starts_with(&*prefix)))
}

fn ends_with(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("string.ends_with", args, 1, 1)?;
    let text = this(vm, args)?;
    let suffix = str_arg(vm, "string.ends_with", args, 1)?;
    Ok(Value::Bool(text.ends_with(&*suffix)))
}

fn contains(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("string.contains", args, 1, 1)?;
    let text = this(vm, args)?;
    let needle = str_arg(vm, "string.contains", args, 1)?;
    Ok(Value::Bool(text.contains(&*needle)))
}

/// `find(sub)`: character index of the first occurrence, or -1.
fn find(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("string.find", args, 1, 1)?;
    let text = this(vm, args)?;
    let needle = str_arg(vm, "string.find", args, 1)?;
    Ok(Value::Int(match text.find(&*needle) {
        Some(byte) => char_index(&text, byte) as i64,
        None => -1,
    }))
}

/// `count(sub)`: number of non-overlapping occurrences.
fn count(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("string.count", args, 1, 1)?;
    let text = this(vm, args)?;
    let needle = str_arg(vm, "string.count", args, 1)?;
    if needle.is_empty() {
        return Ok(Value::Int(text.chars().count() as i64 + 1));
    }
    let n = match needle.as_bytes() {
        // One ASCII character: a count of that byte (UTF-8 never has an ASCII byte inside a
        // longer character), which the compiler vectorises; the general matcher took about 8
        // instructions a byte (callgrind, strings: `s.count("7")` on 0.7 MB).
        &[byte] if byte.is_ascii() => text.bytes().filter(|&b| b == byte).count(),
        _ => text.matches(&*needle).count(),
    };
    Ok(Value::Int(n as i64))
}

fn strip_prefix(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("string.strip_prefix", args, 1, 1)?;
    let text = this(vm, args)?;
    let prefix = str_arg(vm, "string.strip_prefix", args, 1)?;
    let result = text.strip_prefix(&*prefix).unwrap_or(&text);
    Ok(same_or_new(vm, args, &text, result))
}

fn strip_suffix(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("string.strip_suffix", args, 1, 1)?;
    let text = this(vm, args)?;
    let suffix = str_arg(vm, "string.strip_suffix", args, 1)?;
    let result = text.strip_suffix(&*suffix).unwrap_or(&text);
    Ok(same_or_new(vm, args, &text, result))
}

/// Largest string a method may build (bytes); beyond it, `repeat` and `replace` raise instead of
/// exhausting memory.
const MAX_STR_BYTES: usize = 1 << 30;

fn too_large(name: &str) -> crate::error::Exc {
    raise("OverflowError", format!("{name}() result is too large"))
}

/// `replace(old, new)`: every occurrence.
fn replace(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("string.replace", args, 2, 2)?;
    let text = this(vm, args)?;
    let old = str_arg(vm, "string.replace", args, 1)?;
    let new = str_arg(vm, "string.replace", args, 2)?;
    let hits = if old.is_empty() {
        text.chars().count() + 1
    } else {
        text.matches(&*old).count()
    };
    if hits == 0 {
        return Ok(args[0]);
    }
    let size = (new.len() as u128) * (hits as u128) + text.len() as u128;
    if size > MAX_STR_BYTES as u128 {
        return Err(too_large("string.replace"));
    }
    Ok(new_str(vm, text.replace(&*old, &new)))
}

fn upper(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("string.upper", args, 0, 0)?;
    let text = this(vm, args)?;
    Ok(new_str(vm, text.to_uppercase()))
}

fn lower(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("string.lower", args, 0, 0)?;
    let text = this(vm, args)?;
    Ok(new_str(vm, text.to_lowercase()))
}

/// `chars()`: a list of one-character strings.
fn chars(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("string.chars", args, 0, 0)?;
    let items = vm.iterate(args[0])?;
    Ok(vm.heap.alloc_list(items))
}

/// `bytes()`: the UTF-8 bytes as a list of ints.
fn bytes(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("string.bytes", args, 0, 0)?;
    let text = this(vm, args)?;
    let items: List = text.bytes().map(|b| Value::Int(b as i64)).collect();
    Ok(vm.heap.alloc_list(items))
}

/// `repeat(n)`: `n` copies; `n` must not be negative.
fn repeat(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("string.repeat", args, 1, 1)?;
    let text = this(vm, args)?;
    let n = check_int(vm, "string.repeat", args[1])?;
    if n < 0 {
        return Err(value_error("string.repeat() count must not be negative"));
    }
    if (text.len() as u128) * (n as u128) > MAX_STR_BYTES as u128 {
        return Err(too_large("string.repeat"));
    }
    Ok(new_str(vm, text.repeat(n as usize)))
}

/// `parse_int(base = 10)`: like `int(s)` (surrounding whitespace and `_` separators allowed).
fn parse_int(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("string.parse_int", args, 0, 1)?;
    let text = this(vm, args)?;
    let base = match opt_arg(args, 1) {
        None => 10,
        Some(b) => {
            let b = check_int(vm, "string.parse_int", b)?;
            if !(2..=36).contains(&b) {
                return Err(value_error(
                    "string.parse_int() base must be between 2 and 36",
                ));
            }
            b as u32
        }
    };
    let cleaned = text.trim().replace('_', "");
    i64::from_str_radix(&cleaned, base)
        .map(Value::Int)
        .map_err(|_| value_error(format!("invalid int: {}", vm.repr(args[0]))))
}

/// `parse_float()`: like `float(s)`.
fn parse_float(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("string.parse_float", args, 0, 0)?;
    let text = this(vm, args)?;
    super::builtins::parse_float_text(&text)
        .map(Value::Float)
        .ok_or_else(|| value_error(format!("invalid float: {}", vm.repr(args[0]))))
}

/// `format(..args)`: `{}` takes the next argument, `{n}` argument `n`; `{{` and `}}` are braces.
fn format(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    let text = this(vm, args)?;
    let values = &args[1..];
    let mut out = String::with_capacity(text.len());
    let mut next = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '{' => {
                let mut spec = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    spec.push(c);
                }
                if !closed {
                    return Err(value_error("unmatched '{' in format string"));
                }
                let index = if spec.is_empty() {
                    next += 1;
                    next - 1
                } else {
                    spec.trim().parse::<usize>().map_err(|_| {
                        value_error(format!("invalid placeholder {{{spec}}} in format string"))
                    })?
                };
                let Some(value) = values.get(index) else {
                    let n = values.len();
                    return Err(raise(
                        "IndexError",
                        format!(
                            "format index {index} out of range for {n} argument{}",
                            if n == 1 { "" } else { "s" }
                        ),
                    ));
                };
                match value {
                    Value::Str(s) => out.push_str(vm.heap.str(*s)),
                    other => out.push_str(&vm.display(*other)),
                }
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '}' => return Err(value_error("single '}' in format string")),
            c => out.push(c),
        }
    }
    Ok(new_str(vm, out))
}
