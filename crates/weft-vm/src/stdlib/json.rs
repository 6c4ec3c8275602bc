//! The `json` module: `parse(text)` and `stringify(value, indent?)`.
//!
//! `stringify` walks values with an explicit stack, so deeply nested data never overflows the Rust
//! stack, and detects cycles. `parse` relies on serde_json, whose nesting limit (128) bounds the
//! recursion of the conversion.

use crate::text::Text;
use std::fmt::Write;

use rustc_hash::FxHashSet;

use super::args::{arg_count, check_str, opt_arg};
use crate::error::{type_error, value_error, VmResult};
use crate::format::format_float;
use crate::object::{Key, List, Map};
use crate::value::Value;
use crate::vm::Vm;

/// Installs the `json` module.
pub fn install(vm: &mut Vm) {
    let parse = vm.native("json.parse", parse);
    let stringify = vm.native("json.stringify", stringify);
    vm.register_module("json", vec![("parse", parse), ("stringify", stringify)]);
}

/// `parse(text)`: objects become maps (key order kept), arrays lists, `null` nil; integers that fit
/// an int are ints, other numbers floats. Invalid JSON raises ValueError.
fn parse(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("json.parse", args, 1, 1)?;
    let text = check_str(vm, "json.parse", args[0])?;
    let text = vm.heap.str(text).clone();
    let parsed: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| value_error(format!("invalid json: {e}")))?;
    Ok(from_json(vm, &parsed))
}

/// Converts a parsed JSON value (nesting is at most serde_json's recursion limit).
pub(crate) fn from_json(vm: &mut Vm, json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => vm.heap.alloc_str(s.as_str()),
        serde_json::Value::Array(items) => {
            let items: List = items.iter().map(|item| from_json(vm, item)).collect();
            vm.heap.alloc_list(items)
        }
        serde_json::Value::Object(entries) => {
            let mut map = Map::default();
            for (k, v) in entries {
                let value = from_json(vm, v);
                map.insert(Key::Str(k.as_str().into()), value);
            }
            vm.heap.alloc_map(map)
        }
    }
}

/// Largest accepted numeric indent.
const MAX_INDENT: i64 = 16;

/// `stringify(value, indent?)`: compact without `indent` (or with 0); with an int `n > 0` (or a
/// string), one member per line, indented, `": "` after keys.
fn stringify(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("json.stringify", args, 1, 2)?;
    let indent = match opt_arg(args, 1) {
        None | Some(Value::Nil) => None,
        Some(Value::Int(n)) if (0..=MAX_INDENT).contains(&n) => {
            (n > 0).then(|| " ".repeat(n as usize))
        }
        Some(Value::Int(_)) => {
            return Err(value_error(format!(
                "json.stringify() indent must be between 0 and {MAX_INDENT}"
            )))
        }
        Some(Value::Str(s)) => {
            let s = vm.heap.str(s);
            (!s.is_empty()).then(|| s.to_string())
        }
        Some(other) => {
            return Err(type_error(format!(
                "json.stringify() indent must be int or string, not {}",
                vm.type_name(other)
            )))
        }
    };
    let text = to_json(vm, args[0], indent.as_deref())?;
    Ok(vm.heap.alloc_str(text))
}

/// A container being written: its identity (for cycle detection) and its remaining members.
struct Open {
    id: (u8, u32),
    close: char,
    members: Vec<(Option<Text>, Value)>,
    next: usize,
}

/// Serializes `value` as JSON text.
pub(crate) fn to_json(vm: &mut Vm, value: Value, indent: Option<&str>) -> VmResult<String> {
    let mut out = String::new();
    let mut stack: Vec<Open> = Vec::new();
    // Identities of the containers on `stack`, to detect cycles in constant time.
    let mut active: FxHashSet<(u8, u32)> = FxHashSet::default();
    if let Some(open) = write_value(vm, value, &mut out, &active)? {
        active.insert(open.id);
        stack.push(open);
    }
    while let Some(top) = stack.last_mut() {
        if top.next == top.members.len() {
            let (close, empty) = (top.close, top.members.is_empty());
            active.remove(&top.id);
            stack.pop();
            if !empty {
                newline(&mut out, indent, stack.len());
            }
            out.push(close);
            continue;
        }
        let (key, item) = top.members[top.next].clone();
        if top.next > 0 {
            out.push(',');
        }
        top.next += 1;
        newline(&mut out, indent, stack.len());
        if let Some(key) = key {
            write_str(&key, &mut out);
            out.push(':');
            if indent.is_some() {
                out.push(' ');
            }
        }
        if let Some(open) = write_value(vm, item, &mut out, &active)? {
            active.insert(open.id);
            stack.push(open);
        }
    }
    Ok(out)
}

fn newline(out: &mut String, indent: Option<&str>, depth: usize) {
    if let Some(unit) = indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(unit);
        }
    }
}

/// Writes a scalar, or the opening bracket of a container and returns it to be filled.
fn write_value(
    vm: &mut Vm,
    value: Value,
    out: &mut String,
    active: &FxHashSet<(u8, u32)>,
) -> VmResult<Option<Open>> {
    let id = crate::format::container_id(value);
    if let Some(id) = id {
        if active.contains(&id) {
            return Err(value_error("cannot convert a cyclic structure to json"));
        }
    }
    let (open, close, members) = match value {
        Value::Nil => {
            out.push_str("null");
            return Ok(None);
        }
        Value::Bool(b) => {
            out.push_str(if b { "true" } else { "false" });
            return Ok(None);
        }
        Value::Int(i) => {
            let _ = write!(out, "{i}");
            return Ok(None);
        }
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(value_error(format!(
                    "cannot convert {} to json",
                    format_float(f)
                )));
            }
            out.push_str(&format_float(f));
            return Ok(None);
        }
        Value::Str(s) => {
            write_str(vm.heap.str(s), out);
            return Ok(None);
        }
        Value::List(h) => (
            '[',
            ']',
            vm.heap.lists.get(h).iter().map(|v| (None, *v)).collect(),
        ),
        Value::Map(h) => {
            let map = vm.heap.maps.get(h);
            let members = map.iter().map(|(k, v)| (Some(key_text(k)), *v)).collect();
            ('{', '}', members)
        }
        Value::Instance(h) => {
            let fields = &vm.heap.instances.get(h).fields;
            (
                '{',
                '}',
                fields
                    .iter()
                    .map(|(name, v)| (Some(vm.heap.str(*name).clone()), *v))
                    .collect(),
            )
        }
        Value::Error(h) => {
            let error = vm.heap.errors.get(h);
            let (kind, message) = (error.kind.clone(), error.message.clone());
            let kind = vm.heap.alloc_str(kind);
            let message = vm.heap.alloc_str(message);
            (
                '{',
                '}',
                vec![
                    (Some(Text::from("kind")), kind),
                    (Some(Text::from("message")), message),
                ],
            )
        }
        other => {
            return Err(type_error(format!(
                "cannot convert {} to json",
                vm.type_name(other)
            )))
        }
    };
    out.push(open);
    // Error values cannot contain themselves: give each a fresh identity.
    let id = id.unwrap_or((3, out.len() as u32));
    Ok(Some(Open {
        id,
        close,
        members,
        next: 0,
    }))
}

/// A map key as JSON object key text: strings as they are, other keys as `str` shows them.
fn key_text(key: &Key) -> Text {
    match key {
        Key::Str(s) => s.clone(),
        Key::Nil => Text::from("nil"),
        Key::Bool(b) => Text::from(if *b { "true" } else { "false" }),
        Key::Int(i) => Text::from(i.to_string()),
        Key::Float(bits) => Text::from(format_float(f64::from_bits(*bits))),
    }
}

/// Writes a JSON string literal.
fn write_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(vm: &mut Vm, text: &str) -> String {
        let parsed: serde_json::Value = serde_json::from_str(text).expect("valid json");
        let value = from_json(vm, &parsed);
        to_json(vm, value, None).expect("serializable")
    }

    #[test]
    fn compact_round_trips() {
        let mut vm = Vm::new();
        for text in [
            "null",
            "true",
            "[]",
            "{}",
            "[1,-2,3.5,1e+20,\"x\"]",
            "{\"z\":1,\"a\":{\"y\":[1,{\"x\":null}]},\"m\":-3}",
            "\"tab\\t quote\\\" nl\\n \\u0001 é\"",
            "9223372036854775807",
        ] {
            assert_eq!(round_trip(&mut vm, text), text);
        }
    }

    #[test]
    fn big_integers_become_floats() {
        let mut vm = Vm::new();
        assert_eq!(
            round_trip(&mut vm, "18446744073709551615"),
            "1.8446744073709552e+19"
        );
    }

    #[test]
    fn pretty_print() {
        let mut vm = Vm::new();
        let parsed: serde_json::Value =
            serde_json::from_str("{\"a\":[1,{}],\"b\":[]}").expect("valid");
        let value = from_json(&mut vm, &parsed);
        let text = to_json(&mut vm, value, Some("  ")).expect("serializable");
        assert_eq!(text, "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": []\n}");
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let mut vm = Vm::new();
        let mut value = vm.heap.alloc_list(Vec::new());
        for _ in 0..200_000 {
            value = vm.heap.alloc_list(vec![value]);
        }
        let text = to_json(&mut vm, value, None).expect("serializable");
        assert_eq!(text.len(), 2 * 200_001);
    }

    #[test]
    fn cycles_are_errors() {
        let mut vm = Vm::new();
        let list = vm.heap.alloc_list(Vec::new());
        let Value::List(h) = list else { unreachable!() };
        vm.heap.lists.get_mut(h).push(list);
        assert!(to_json(&mut vm, list, None).is_err());
        // The same list twice side by side is not a cycle.
        let inner = vm.heap.alloc_list(vec![Value::Int(1)]);
        let outer = vm.heap.alloc_list(vec![inner, inner]);
        assert_eq!(
            to_json(&mut vm, outer, None).expect("no cycle"),
            "[[1],[1]]"
        );
    }
}
