//! Reading and writing fields and indices, iteration, and list/map spreading.

use crate::call::type_tag;
use crate::error::{raise, type_error, value_error, VmResult};
use crate::object::{Class, Key, List, Str};
use crate::text::Text;
use crate::value::{Handle, Value};
use crate::vm::Vm;

/// Resolves a possibly negative index against `len`.
pub fn normalize_index(index: i64, len: usize) -> Option<usize> {
    let i = if index < 0 { index + len as i64 } else { index };
    (0..len as i64).contains(&i).then_some(i as usize)
}

/// Resolves a slice range against `len`, clamping like Python.
pub fn slice_bounds(
    start: Option<i64>,
    end: Option<i64>,
    inclusive: bool,
    len: usize,
) -> (usize, usize) {
    let clamp = |i: i64| -> usize {
        let i = if i < 0 { i + len as i64 } else { i };
        i.clamp(0, len as i64) as usize
    };
    let from = start.map_or(0, clamp);
    let to = match end {
        None => len,
        Some(e) if inclusive => {
            let e = if e < 0 { e + len as i64 } else { e };
            (e + 1).clamp(0, len as i64) as usize
        }
        Some(e) => clamp(e),
    };
    (from, to.max(from))
}

impl Vm {
    /// `obj.name`.
    pub(crate) fn get_field(&mut self, obj: Value, name: Handle<Str>) -> VmResult<Value> {
        match obj {
            Value::Instance(h) => {
                let instance = self.heap.instances.get(h);
                if let Some(v) = instance.field(name) {
                    return Ok(v);
                }
                match self
                    .heap
                    .classes
                    .get(instance.class)
                    .methods
                    .get(&name)
                    .copied()
                {
                    Some(method) => Ok(self.heap.alloc_bound(obj, method)),
                    None => Err(self.no_attribute(obj, name)),
                }
            }
            Value::Module(id) => self.module_member(id, name),
            Value::Error(h) => {
                let text = self.heap.str(name).clone();
                let error = self.heap.errors.get(h);
                if let Some(v) = crate::object::field_in(&error.fields, name) {
                    return Ok(v);
                }
                match &*text {
                    "kind" => {
                        let kind = error.kind.clone();
                        Ok(self.heap.alloc_str(kind))
                    }
                    "message" => {
                        let message = error.message.clone();
                        Ok(self.heap.alloc_str(message))
                    }
                    "trace" => {
                        let lines = error.trace.clone();
                        let items: List =
                            lines.into_iter().map(|l| self.heap.alloc_str(l)).collect();
                        Ok(self.heap.alloc_list(items))
                    }
                    // Every error has these, empty unless a scope or combinator filled them.
                    "suppressed" | "errors" => Ok(self.heap.alloc_list(Vec::new())),
                    _ => self.builtin_member(obj, name),
                }
            }
            Value::Map(m) => {
                let key = Key::Str(self.heap.str(name).clone());
                if let Some(&v) = self.heap.maps.get(m).get(&key) {
                    return Ok(v);
                }
                self.builtin_member(obj, name)
            }
            Value::Task(t) if &**self.heap.str(name) == "id" => {
                Ok(Value::Int(self.heap.tasks.get(t).id as i64))
            }
            _ => self.builtin_member(obj, name),
        }
    }

    /// A method of a built-in type read as a value (bound to its receiver).
    fn builtin_member(&mut self, obj: Value, name: Handle<Str>) -> VmResult<Value> {
        if let Some(tag) = type_tag(obj) {
            if let Some(&method) = self.methods.get(&(tag, name)) {
                return Ok(self.heap.alloc_bound(obj, method));
            }
        }
        Err(self.no_attribute(obj, name))
    }

    /// The method `name` of `receiver`, for calls with spread or named arguments.
    pub(crate) fn resolve_method(&mut self, receiver: Value, name: Handle<Str>) -> VmResult<Value> {
        match receiver {
            Value::Instance(h) => {
                let instance = self.heap.instances.get(h);
                if let Some(v) = instance.field(name) {
                    return Ok(v);
                }
                self.heap
                    .classes
                    .get(instance.class)
                    .methods
                    .get(&name)
                    .copied()
                    .ok_or_else(|| self.no_method(receiver, name))
            }
            Value::Module(id) => self.module_member(id, name),
            _ => {
                let found =
                    type_tag(receiver).and_then(|tag| self.methods.get(&(tag, name)).copied());
                found.ok_or_else(|| self.no_method(receiver, name))
            }
        }
    }

    /// `obj.name = value`.
    pub(crate) fn set_field(
        &mut self,
        obj: Value,
        name: Handle<Str>,
        value: Value,
    ) -> VmResult<()> {
        match obj {
            Value::Instance(h) => {
                self.heap.instances.get_mut(h).set_field(name, value);
                Ok(())
            }
            Value::Error(h) => {
                crate::object::set_field_in(&mut self.heap.errors.get_mut(h).fields, name, value);
                Ok(())
            }
            Value::Map(m) => {
                let key = Key::Str(self.heap.str(name).clone());
                self.heap.maps.get_mut(m).insert(key, value);
                Ok(())
            }
            _ => Err(type_error(format!(
                "cannot set field '{}' on {}",
                self.heap.str(name),
                self.type_name(obj)
            ))),
        }
    }

    /// `obj[index]`; a range index slices lists and strings.
    pub fn get_index(&mut self, obj: Value, index: Value) -> VmResult<Value> {
        match (obj, index) {
            (Value::List(l), Value::Int(i)) => {
                let items = self.heap.lists.get(l);
                match normalize_index(i, items.len()) {
                    Some(i) => Ok(items[i]),
                    None => Err(raise(
                        "IndexError",
                        format!("list index {i} out of range for length {}", items.len()),
                    )),
                }
            }
            (Value::List(l), Value::Range(r)) => {
                let r = *self.heap.ranges.get(r);
                let items = self.heap.lists.get(l);
                let (from, to) = slice_bounds(r.start, r.end, r.inclusive, items.len());
                let slice = items[from..to].to_vec();
                Ok(self.heap.alloc_list(slice))
            }
            (Value::Str(s), Value::Int(i)) => {
                let obj = self.heap.strings.get(s);
                let len = obj.char_len();
                let Some(i) = normalize_index(i, len) else {
                    return Err(raise(
                        "IndexError",
                        format!("string index {i} out of range for length {len}"),
                    ));
                };
                let c = if obj.is_ascii() {
                    Text::new(&obj[i..i + 1])
                } else {
                    obj.chars().nth(i).map(Text::from).unwrap_or_default()
                };
                Ok(self.heap.alloc_str(c))
            }
            (Value::Str(s), Value::Range(r)) => {
                let r = *self.heap.ranges.get(r);
                let obj = self.heap.strings.get(s);
                let (from, to) = slice_bounds(r.start, r.end, r.inclusive, obj.char_len());
                let text = if obj.is_ascii() {
                    Text::new(&obj[from..to])
                } else {
                    Text::new(char_slice(obj, from, to))
                };
                Ok(self.heap.alloc_str(text))
            }
            (Value::Map(m), key) => {
                let k = self.to_key(key)?;
                match self.heap.maps.get(m).get(&k) {
                    Some(&v) => Ok(v),
                    None => Err(raise(
                        "KeyError",
                        format!("key not found: {}", self.repr(key)),
                    )),
                }
            }
            (Value::Range(r), Value::Int(i)) => {
                let r = *self.heap.ranges.get(r);
                match normalize_index(i, r.len().max(0) as usize) {
                    Some(i) => Ok(Value::Int(r.nth(i as i64))),
                    None => Err(raise(
                        "IndexError",
                        format!("range index {i} out of range for length {}", r.len()),
                    )),
                }
            }
            (Value::List(_) | Value::Str(_) | Value::Range(_), other) => Err(type_error(format!(
                "{} index must be int, not {}",
                self.type_name(obj),
                self.type_name(other)
            ))),
            _ => Err(type_error(format!(
                "{} is not indexable",
                self.type_name(obj)
            ))),
        }
    }

    /// `obj[index] = value`.
    pub fn set_index(&mut self, obj: Value, index: Value, value: Value) -> VmResult<()> {
        match (obj, index) {
            (Value::List(l), Value::Int(i)) => {
                let items = self.heap.lists.get_mut(l);
                let len = items.len();
                match normalize_index(i, len) {
                    Some(i) => {
                        items[i] = value;
                        Ok(())
                    }
                    None => Err(raise(
                        "IndexError",
                        format!("list index {i} out of range for length {len}"),
                    )),
                }
            }
            (Value::Map(m), key) => {
                let k = self.to_key(key)?;
                let map = self.heap.maps.get_mut(m);
                let before = map.len();
                map.insert(k, value);
                if map.len() > before {
                    self.heap.account(2);
                }
                Ok(())
            }
            (Value::List(_), other) => Err(type_error(format!(
                "list index must be int, not {}",
                self.type_name(other)
            ))),
            (Value::Str(_), _) => Err(type_error("strings are immutable")),
            _ => Err(type_error(format!(
                "{} does not support item assignment",
                self.type_name(obj)
            ))),
        }
    }

    /// All values an iterable produces, as a vector (spreads, `list()`, natives).
    pub fn iterate(&mut self, src: Value) -> VmResult<Vec<Value>> {
        match src {
            Value::List(l) => Ok(self.heap.lists.get(l).to_vec()),
            Value::Map(m) => {
                let keys: Vec<Key> = self.heap.maps.get(m).keys().cloned().collect();
                Ok(keys.iter().map(|k| self.key_value(k)).collect())
            }
            Value::Range(r) => {
                let r = *self.heap.ranges.get(r);
                if r.start.is_none() || r.end.is_none() {
                    return Err(value_error("cannot iterate an open range"));
                }
                Ok((0..r.len()).map(|i| Value::Int(r.nth(i))).collect())
            }
            Value::Str(s) => {
                let text = self.heap.str(s).clone();
                Ok(text
                    .chars()
                    .map(|c| self.heap.alloc_str(c.to_string()))
                    .collect())
            }
            other => Err(type_error(format!(
                "{} is not iterable",
                self.type_name(other)
            ))),
        }
    }

    /// Prepares `for` state: `(state, index)` registers.
    pub(crate) fn iter_init(&mut self, src: Value) -> VmResult<(Value, Value)> {
        match src {
            Value::List(_) => Ok((src, Value::Int(0))),
            Value::Range(r) => {
                let r = *self.heap.ranges.get(r);
                match (r.start, r.exclusive_end()) {
                    // Counting loops keep the end as a plain int: no heap access per iteration.
                    (Some(start), Some(end)) if r.step == 1 => {
                        Ok((Value::Int(end), Value::Int(start)))
                    }
                    (Some(_), Some(_)) => Ok((src, Value::Int(0))),
                    _ => Err(value_error("cannot iterate an open range")),
                }
            }
            // Channels are received from one value at a time (see `channel_iter_next`).
            Value::Channel(_) => Ok((src, Value::Undef)),
            other => {
                let items = self.iterate(other)?;
                Ok((self.heap.alloc_list(items), Value::Int(0)))
            }
        }
    }

    /// The next value of a `for` loop, advancing its state; `None` when done.
    #[inline]
    pub(crate) fn iter_next(&mut self, slot: usize) -> Option<Value> {
        let Value::Int(i) = self.stack[slot + 1] else {
            return None;
        };
        match self.stack[slot] {
            Value::Int(end) => {
                if i < end {
                    self.stack[slot + 1] = Value::Int(i + 1);
                    Some(Value::Int(i))
                } else {
                    None
                }
            }
            Value::List(l) => {
                let value = self.heap.lists.get(l).get(i as usize).copied()?;
                self.stack[slot + 1] = Value::Int(i + 1);
                Some(value)
            }
            Value::Range(r) => {
                let r = *self.heap.ranges.get(r);
                if i < r.len() {
                    self.stack[slot + 1] = Value::Int(i + 1);
                    Some(Value::Int(r.nth(i)))
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// `[..src]` into an existing list.
    pub(crate) fn list_extend(&mut self, list: Value, src: Value) -> VmResult<()> {
        let items = self.iterate(src)?;
        if let Value::List(l) = list {
            self.heap.account(items.len());
            self.heap.lists.get_mut(l).extend(items);
        }
        Ok(())
    }

    /// `{..src}` into an existing map.
    pub(crate) fn map_extend(&mut self, map: Value, src: Value) -> VmResult<()> {
        let Value::Map(from) = src else {
            return Err(type_error(format!(
                "cannot spread {} into a map",
                self.type_name(src)
            )));
        };
        let entries: Vec<(Key, Value)> = self
            .heap
            .maps
            .get(from)
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        if let Value::Map(to) = map {
            self.heap.account(entries.len() * 2);
            self.heap.maps.get_mut(to).extend(entries);
        }
        Ok(())
    }

    /// Destructuring check: a list of exactly (or, with a rest, at least) `count` elements.
    pub(crate) fn check_list(&self, value: Value, count: usize, rest: bool) -> VmResult<()> {
        let Value::List(l) = value else {
            return Err(type_error(format!(
                "cannot destructure {} as a list",
                self.type_name(value)
            )));
        };
        let len = self.heap.lists.get(l).len();
        if (rest && len >= count) || (!rest && len == count) {
            Ok(())
        } else if rest {
            Err(value_error(format!(
                "expected at least {count} elements, got {len}"
            )))
        } else {
            Err(value_error(format!("expected {count} elements, got {len}")))
        }
    }

    /// Builds a class from method closures.
    pub(crate) fn new_class(&mut self, name: Handle<Str>, methods: &[Value]) -> Value {
        let mut table = rustc_hash::FxHashMap::default();
        for &method in methods {
            if let Value::Func(c) = method {
                let method_name = self.heap.closures.get(c).proto.proto.method_name.clone();
                let key = self.heap.intern(&method_name);
                table.insert(key, method);
            }
        }
        let name = self.heap.str(name).to_rc();
        self.heap.alloc_class(Class {
            name,
            methods: table,
        })
    }
}

/// Characters `from..to` of `text` (`from <= to <= ` its character count).
fn char_slice(text: &str, from: usize, to: usize) -> &str {
    let mut offsets = text.char_indices().map(|(at, _)| at).chain([text.len()]);
    let start = offsets.nth(from).unwrap_or(text.len());
    let end = if to > from {
        offsets.nth(to - from - 1).unwrap_or(text.len())
    } else {
        start
    };
    &text[start..end]
}
