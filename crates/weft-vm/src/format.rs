//! How values print: `str(v)` / `print` (display) and the quoted form used inside containers (repr).
//!
//! Floats print in the shortest form that reads back, Python style: fixed notation for exponents
//! -4..16, else `1e+20` / `1e-05`, and always with a `.` or an exponent.

use std::fmt::Write;

use crate::value::Value;
use crate::vm::Vm;

/// Formats a float the way Weft prints it.
pub fn format_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // `{:e}` gives the shortest round-trip digits: "1.2345e-7", "1e20".
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        if exp < 0 {
            out.push_str("0.");
            out.push_str(&"0".repeat((-exp - 1) as usize));
            out.push_str(&digits);
        } else {
            let point = exp as usize + 1;
            if digits.len() <= point {
                out.push_str(&digits);
                out.push_str(&"0".repeat(point - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exp.abs());
    }
    out
}

/// Identity of a value that can contain itself (list, map, instance), for cycle detection while
/// walking nested values; `None` for everything else.
pub(crate) fn container_id(value: Value) -> Option<(u8, u32)> {
    match value {
        Value::List(h) => Some((0, h.index())),
        Value::Map(h) => Some((1, h.index())),
        Value::Instance(h) => Some((2, h.index())),
        _ => None,
    }
}

/// Writes `s` as a double-quoted string literal with escapes.
pub fn quote_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Vm {
    /// The name `type(v)` returns.
    pub fn type_name(&self, value: Value) -> String {
        match value {
            Value::Nil => "nil".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Float(_) => "float".into(),
            Value::Str(_) => "string".into(),
            Value::List(_) => "list".into(),
            Value::Map(_) => "map".into(),
            Value::Range(_) => "range".into(),
            Value::Func(_) | Value::Native(_) | Value::Bound(_) => "function".into(),
            Value::Class(_) => "class".into(),
            Value::Instance(h) => {
                let class = self.heap.instances.get(h).class;
                self.heap.classes.get(class).name.to_string()
            }
            Value::Error(_) => "error".into(),
            Value::Module(_) => "module".into(),
            Value::Task(_) => "task".into(),
            Value::Channel(_) => "channel".into(),
            Value::Scope(_) => "scope".into(),
            Value::Cell(_) => "cell".into(),
            Value::Undef => "undefined".into(),
        }
    }

    /// `str(v)`: strings as they are, everything else as in a container.
    pub fn display(&self, value: Value) -> String {
        match value {
            Value::Str(h) => self.heap.str(h).to_string(),
            _ => self.repr(value),
        }
    }

    /// The form a value takes inside a container (strings quoted).
    pub fn repr(&self, value: Value) -> String {
        let mut out = String::new();
        let mut seen = Vec::new();
        self.write_repr(value, &mut out, &mut seen);
        out
    }

    fn write_repr(&self, value: Value, out: &mut String, seen: &mut Vec<(u8, u32)>) {
        let id = container_id(value);
        if let Some(id) = id {
            if seen.contains(&id) {
                out.push_str(match id.0 {
                    0 => "[...]",
                    1 => "{...}",
                    _ => "<...>",
                });
                return;
            }
            seen.push(id);
        }
        match value {
            Value::Nil => out.push_str("nil"),
            Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
            Value::Int(i) => out.push_str(int_text(i, &mut itoa::Buffer::new())),
            Value::Float(f) => out.push_str(&format_float(f)),
            Value::Str(h) => quote_str(self.heap.str(h), out),
            Value::List(h) => {
                out.push('[');
                for (i, item) in self.heap.lists.get(h).iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.write_repr(*item, out, seen);
                }
                out.push(']');
            }
            Value::Map(h) => {
                out.push('{');
                for (i, (key, item)) in self.heap.maps.get(h).iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.write_key(key, out);
                    out.push_str(": ");
                    self.write_repr(*item, out, seen);
                }
                out.push('}');
            }
            Value::Range(h) => {
                let r = self.heap.ranges.get(h);
                if r.step != 1 {
                    let _ = write!(
                        out,
                        "range({}, {}, {})",
                        r.start.unwrap_or(0),
                        r.end.unwrap_or(0),
                        r.step
                    );
                } else {
                    if let Some(start) = r.start {
                        let _ = write!(out, "{start}");
                    }
                    out.push_str(if r.inclusive { "..=" } else { ".." });
                    if let Some(end) = r.end {
                        let _ = write!(out, "{end}");
                    }
                }
            }
            Value::Func(h) => {
                let name = &self.heap.closures.get(h).proto.proto.name;
                let _ = write!(out, "<fn {name}>");
            }
            Value::Native(id) => {
                let _ = write!(out, "<fn {}>", self.natives[id as usize].name);
            }
            Value::Bound(h) => {
                let method = self.heap.bounds.get(h).method;
                self.write_repr(method, out, seen);
            }
            Value::Class(h) => {
                let _ = write!(out, "<class {}>", self.heap.classes.get(h).name);
            }
            Value::Instance(h) => {
                let instance = self.heap.instances.get(h);
                out.push_str(&self.heap.classes.get(instance.class).name);
                out.push('{');
                for (i, (name, field)) in instance.fields.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(self.heap.str(*name));
                    out.push_str(": ");
                    self.write_repr(*field, out, seen);
                }
                out.push('}');
            }
            Value::Error(h) => {
                let error = self.heap.errors.get(h);
                let _ = write!(out, "{}: {}", error.kind, error.message);
            }
            Value::Module(id) => {
                let _ = write!(out, "<module {}>", self.modules[id as usize].name);
            }
            Value::Task(h) => {
                let _ = write!(out, "<task {}>", self.heap.tasks.get(h).id);
            }
            Value::Channel(_) => out.push_str("<channel>"),
            Value::Scope(_) => out.push_str("<scope>"),
            Value::Cell(_) => out.push_str("<cell>"),
            Value::Undef => out.push_str("<undefined>"),
        }
        if id.is_some() {
            seen.pop();
        }
    }

    fn write_key(&self, key: &crate::object::Key, out: &mut String) {
        use crate::object::Key;
        match key {
            Key::Nil => out.push_str("nil"),
            Key::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Key::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Key::Float(bits) => out.push_str(&format_float(f64::from_bits(*bits))),
            Key::Str(s) => quote_str(s, out),
        }
    }
}

/// The decimal text of `i`, in `buf` (by the `itoa` crate, which serde_json already brings in).
/// `write!` went through the formatting machinery, about 150 instructions an int (callgrind,
/// strings: `str(i)` had `pad_integral`, `fmt::write` and `Display` among its top five); a
/// digit loop of our own spent a third of its time proving its bytes UTF-8.
pub(crate) fn int_text(i: i64, buf: &mut itoa::Buffer) -> &str {
    buf.format(i)
}

#[cfg(test)]
mod tests {
    use super::{format_float, int_text};

    #[test]
    fn ints_print_as_rust_does() {
        for i in [
            0,
            7,
            -7,
            10,
            99,
            100,
            -1000,
            123_456_789,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
        ] {
            assert_eq!(int_text(i, &mut itoa::Buffer::new()), i.to_string());
        }
    }

    #[test]
    fn floats_print_like_python_repr() {
        let cases = [
            (5.0, "5.0"),
            (0.1, "0.1"),
            (1e20, "1e+20"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1.5e-7, "1.5e-07"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (2.75, "2.75"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (-0.0, "-0.0"),
            (1.0 / 3.0, "0.3333333333333333"),
        ];
        for (x, want) in cases {
            assert_eq!(format_float(x), want, "formatting {x:?}");
        }
    }
}
