//! Operators: arithmetic with overflow checks and floored division, comparison, structural
//! equality, and the conversion between values and map keys.

use std::cmp::Ordering;

use weft_compiler::Cmp;

use crate::error::{raise, type_error, VmResult};
use crate::object::Key;
use crate::value::Value;
use crate::vm::Vm;

/// The binary arithmetic operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arith {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `//`
    FloorDiv,
    /// `%`
    Mod,
    /// `**`
    Pow,
}

impl Arith {
    fn symbol(self) -> &'static str {
        match self {
            Arith::Add => "+",
            Arith::Sub => "-",
            Arith::Mul => "*",
            Arith::Div => "/",
            Arith::FloorDiv => "//",
            Arith::Mod => "%",
            Arith::Pow => "**",
        }
    }
}

fn overflow() -> crate::error::Exc {
    raise("OverflowError", "integer overflow")
}

fn zero_division() -> crate::error::Exc {
    raise("ZeroDivisionError", "division by zero")
}

/// Integer arithmetic with Weft's rules (checked, floored).
pub fn int_arith(op: Arith, a: i64, b: i64) -> VmResult<Value> {
    let result = match op {
        Arith::Add => a.checked_add(b),
        Arith::Sub => a.checked_sub(b),
        Arith::Mul => a.checked_mul(b),
        Arith::Div => {
            if b == 0 {
                return Err(zero_division());
            }
            return Ok(Value::Float(a as f64 / b as f64));
        }
        Arith::FloorDiv => {
            if b == 0 {
                return Err(zero_division());
            }
            let q = a.checked_div(b).ok_or_else(overflow)?;
            Some(if (a % b != 0) && ((a < 0) != (b < 0)) {
                q - 1
            } else {
                q
            })
        }
        Arith::Mod => {
            if b == 0 {
                return Err(zero_division());
            }
            let r = a.checked_rem(b).unwrap_or(0);
            Some(if r != 0 && ((r < 0) != (b < 0)) {
                r + b
            } else {
                r
            })
        }
        Arith::Pow => {
            if b < 0 {
                return Ok(Value::Float((a as f64).powf(b as f64)));
            }
            match u32::try_from(b) {
                Ok(exp) => a.checked_pow(exp),
                Err(_) if a == 0 || a == 1 => Some(a),
                Err(_) if a == -1 => Some(if b % 2 == 0 { 1 } else { -1 }),
                Err(_) => None,
            }
        }
    };
    result.map(Value::Int).ok_or_else(overflow)
}

/// Float arithmetic with Weft's rules (floored `//` and `%`, errors on division by zero).
pub fn float_arith(op: Arith, a: f64, b: f64) -> VmResult<Value> {
    let result = match op {
        Arith::Add => a + b,
        Arith::Sub => a - b,
        Arith::Mul => a * b,
        Arith::Div => {
            if b == 0.0 {
                return Err(zero_division());
            }
            a / b
        }
        Arith::FloorDiv => {
            if b == 0.0 {
                return Err(zero_division());
            }
            (a / b).floor()
        }
        Arith::Mod => {
            if b == 0.0 {
                return Err(zero_division());
            }
            let r = a % b;
            if r != 0.0 && ((r < 0.0) != (b < 0.0)) {
                r + b
            } else {
                r
            }
        }
        Arith::Pow => a.powf(b),
    };
    Ok(Value::Float(result))
}

impl Vm {
    /// `a op b` for any values (the interpreter handles int/int inline first).
    pub fn arith(&mut self, op: Arith, a: Value, b: Value) -> VmResult<Value> {
        match (a, b) {
            (Value::Int(x), Value::Int(y)) => int_arith(op, x, y),
            (Value::Int(x), Value::Float(y)) => float_arith(op, x as f64, y),
            (Value::Float(x), Value::Int(y)) => float_arith(op, x, y as f64),
            (Value::Float(x), Value::Float(y)) => float_arith(op, x, y),
            (Value::Str(x), Value::Str(y)) if op == Arith::Add => {
                let (x, y) = (self.heap.str(x), self.heap.str(y));
                let mut s = String::with_capacity(x.len() + y.len());
                s.push_str(x);
                s.push_str(y);
                Ok(self.heap.alloc_str(s))
            }
            (Value::List(x), Value::List(y)) if op == Arith::Add => {
                let mut items = self.heap.lists.get(x).clone();
                items.extend_from_slice(self.heap.lists.get(y));
                Ok(self.heap.alloc_list(items))
            }
            _ => Err(type_error(format!(
                "unsupported operand types for {}: {} and {}",
                op.symbol(),
                self.type_name(a),
                self.type_name(b)
            ))),
        }
    }

    /// `-v`.
    pub fn negate(&mut self, v: Value) -> VmResult<Value> {
        match v {
            Value::Int(i) => i.checked_neg().map(Value::Int).ok_or_else(overflow),
            Value::Float(f) => Ok(Value::Float(-f)),
            _ => Err(type_error(format!(
                "bad operand type for unary -: {}",
                self.type_name(v)
            ))),
        }
    }

    /// Ordering for `< <= > >=`: numbers with numbers, strings with strings. `None` means unordered
    /// (a NaN is involved): every comparison is then false.
    pub fn compare(&self, a: Value, b: Value) -> VmResult<Option<Ordering>> {
        match (a, b) {
            (Value::Int(x), Value::Int(y)) => Ok(Some(x.cmp(&y))),
            (Value::Int(x), Value::Float(y)) => Ok((x as f64).partial_cmp(&y)),
            (Value::Float(x), Value::Int(y)) => Ok(x.partial_cmp(&(y as f64))),
            (Value::Float(x), Value::Float(y)) => Ok(x.partial_cmp(&y)),
            (Value::Str(x), Value::Str(y)) => Ok(Some(self.heap.str(x).cmp(self.heap.str(y)))),
            _ => Err(type_error(format!(
                "cannot compare {} and {}",
                self.type_name(a),
                self.type_name(b)
            ))),
        }
    }

    /// Whether `a cmp b` holds, for the fused compare-and-branch instructions when the operands
    /// are not both ints: `==` and `!=` compare any values, the orderings raise on mixed types
    /// and are false when a NaN is involved.
    #[cold]
    #[inline(never)]
    pub(crate) fn compare_values(&self, cmp: Cmp, a: Value, b: Value) -> VmResult<bool> {
        if cmp.is_equality() {
            return Ok(self.equal(a, b) == (cmp == Cmp::Eq));
        }
        Ok(self.compare(a, b)?.is_some_and(|o| cmp.holds(o)))
    }

    /// `a == b`: structural for lists, maps and ranges; numeric across int and float; identity otherwise.
    pub fn equal(&self, a: Value, b: Value) -> bool {
        self.equal_depth(a, b, 0)
    }

    fn equal_depth(&self, a: Value, b: Value, depth: u32) -> bool {
        // Past this depth (only reachable through cyclic structures) compare by identity, so `==`
        // always terminates and never overflows the Rust stack.
        const MAX_DEPTH: u32 = 200;
        match (a, b) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Int(x), Value::Int(y)) => x == y,
            (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => (x as f64) == y,
            (Value::Float(x), Value::Float(y)) => x == y,
            (Value::Str(x), Value::Str(y)) => x == y || self.heap.str(x) == self.heap.str(y),
            (Value::List(x), Value::List(y)) => {
                if x == y {
                    return true;
                }
                if depth > MAX_DEPTH {
                    return false;
                }
                let (xs, ys) = (self.heap.lists.get(x), self.heap.lists.get(y));
                xs.len() == ys.len()
                    && xs
                        .iter()
                        .zip(ys)
                        .all(|(p, q)| self.equal_depth(*p, *q, depth + 1))
            }
            (Value::Map(x), Value::Map(y)) => {
                if x == y {
                    return true;
                }
                if depth > MAX_DEPTH {
                    return false;
                }
                let (xs, ys) = (self.heap.maps.get(x), self.heap.maps.get(y));
                xs.len() == ys.len()
                    && xs.iter().all(|(k, v)| {
                        ys.get(k)
                            .is_some_and(|w| self.equal_depth(*v, *w, depth + 1))
                    })
            }
            (Value::Range(x), Value::Range(y)) => {
                self.heap.ranges.get(x) == self.heap.ranges.get(y)
            }
            (Value::Func(x), Value::Func(y)) => x == y,
            (Value::Native(x), Value::Native(y)) => x == y,
            (Value::Bound(x), Value::Bound(y)) => {
                let (p, q) = (self.heap.bounds.get(x), self.heap.bounds.get(y));
                self.equal_depth(p.receiver, q.receiver, depth + 1)
                    && self.equal_depth(p.method, q.method, depth + 1)
            }
            (Value::Class(x), Value::Class(y)) => x == y,
            (Value::Instance(x), Value::Instance(y)) => x == y,
            (Value::Error(x), Value::Error(y)) => x == y,
            (Value::Module(x), Value::Module(y)) => x == y,
            (Value::Task(x), Value::Task(y)) => x == y,
            (Value::Channel(x), Value::Channel(y)) => x == y,
            (Value::Scope(x), Value::Scope(y)) => x == y,
            _ => false,
        }
    }

    /// The map key for a value; lists, maps and other objects are not hashable.
    pub fn to_key(&self, v: Value) -> VmResult<Key> {
        Ok(match v {
            Value::Nil => Key::Nil,
            Value::Bool(b) => Key::Bool(b),
            Value::Int(i) => Key::Int(i),
            Value::Float(f) => {
                if f.fract() == 0.0 && (-9.2e18..=9.2e18).contains(&f) {
                    Key::Int(f as i64)
                } else {
                    Key::Float(f.to_bits())
                }
            }
            Value::Str(h) => Key::Str(self.heap.str(h).clone()),
            _ => {
                return Err(type_error(format!(
                    "unhashable map key: {}",
                    self.type_name(v)
                )))
            }
        })
    }

    /// The value for a map key (strings become new heap strings sharing the text).
    pub fn key_value(&mut self, key: &Key) -> Value {
        match key {
            Key::Nil => Value::Nil,
            Key::Bool(b) => Value::Bool(*b),
            Key::Int(i) => Value::Int(*i),
            Key::Float(bits) => Value::Float(f64::from_bits(*bits)),
            Key::Str(s) => self.heap.alloc_str(s.clone()),
        }
    }
}
