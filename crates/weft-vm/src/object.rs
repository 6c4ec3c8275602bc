//! The heap object types that `Value` handles point to.

use std::rc::Rc;

use crate::value::{Handle, Value};
use crate::vm::FnProto;
use rustc_hash::FxHashMap;
use smallvec::SmallVec;

/// A string object: its text, in place when short (`text.rs`). Immutable; an ASCII text indexes
/// characters in O(1).
pub type Str = crate::text::Text;

/// A list. Up to two items are kept in the list's slot itself, so a pair (`[left, right]`) is
/// one allocation in the heap's slab instead of a slot and a buffer from `malloc` (callgrind,
/// binary_trees depth 12: 661M -> 536M instructions, a fifth of them had been `malloc` and
/// `free`; peak RSS 34 MB -> 25 MB).
pub type List = SmallVec<[Value; 2]>;

/// A map key: the hashable subset of values. Ints and integral floats share one key (`1 == 1.0`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    /// `nil`
    Nil,
    /// a boolean
    Bool(bool),
    /// an int, or a float with an integral value that fits
    Int(i64),
    /// a non-integral float, by bits (NaN keys compare by bits)
    Float(u64),
    /// a string
    Str(crate::text::Text),
}

/// A map: an insertion-ordered hash table (`table.rs`).
pub type Map = crate::table::Table;

/// A range. Open bounds (`..b`, `a..`) only make sense as slice indices.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RangeObj {
    /// First value, `None` for `..b`.
    pub start: Option<i64>,
    /// End bound, `None` for `a..`.
    pub end: Option<i64>,
    /// `..=`: the end is included.
    pub inclusive: bool,
    /// Step (never 0); 1 for literals.
    pub step: i64,
}

impl RangeObj {
    /// The exclusive end for iteration, when the range is closed.
    pub fn exclusive_end(&self) -> Option<i64> {
        let end = self.end?;
        Some(if self.inclusive {
            if self.step > 0 {
                end.saturating_add(1)
            } else {
                end.saturating_sub(1)
            }
        } else {
            end
        })
    }

    /// Number of values produced when iterated.
    pub fn len(&self) -> i64 {
        let (Some(start), Some(end)) = (self.start, self.exclusive_end()) else {
            return 0;
        };
        let span = if self.step > 0 {
            end.saturating_sub(start)
        } else {
            start.saturating_sub(end)
        };
        if span <= 0 {
            0
        } else {
            let step = self.step.unsigned_abs() as i64;
            (span + step - 1) / step
        }
    }

    /// Whether iterating produces nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th value.
    pub fn nth(&self, i: i64) -> i64 {
        self.start.unwrap_or(0) + i * self.step
    }
}

/// A closure: a compiled function and the cells it captured.
#[derive(Debug)]
pub struct Closure {
    /// The function.
    pub proto: Rc<FnProto>,
    /// Captured cells, indexed by `GetUpval`/`SetUpval`.
    pub upvals: Box<[Handle<Cell>]>,
}

/// A captured variable.
#[derive(Debug)]
pub struct Cell {
    /// The current value.
    pub value: Value,
}

/// A method together with the receiver it was read from.
#[derive(Debug)]
pub struct BoundMethod {
    /// The receiver (`self`).
    pub receiver: Value,
    /// The method (a closure or a native).
    pub method: Value,
}

/// A class: a name and its methods.
#[derive(Debug)]
pub struct Class {
    /// The class name.
    pub name: Rc<str>,
    /// Methods by interned name.
    pub methods: FxHashMap<Handle<Str>, Value>,
}

/// An instance: its class and its fields in insertion order.
#[derive(Debug)]
pub struct Instance {
    /// The class.
    pub class: Handle<Class>,
    /// Fields by interned name, in the order they were first set.
    pub fields: Vec<(Handle<Str>, Value)>,
}

impl Instance {
    /// The field `name`, if it has been set.
    #[inline(always)]
    pub fn field(&self, name: Handle<Str>) -> Option<Value> {
        field_in(&self.fields, name)
    }

    /// The field `name` to write in place, if it has been set.
    #[inline(always)]
    pub fn field_mut(&mut self, name: Handle<Str>) -> Option<&mut Value> {
        field_in_mut(&mut self.fields, name)
    }

    /// Sets the field `name`, adding it after the others the first time.
    #[inline(always)]
    pub fn set_field(&mut self, name: Handle<Str>, value: Value) {
        set_field_in(&mut self.fields, name, value)
    }
}

/// The field `name` of a field list (an instance's, or the ones a script added to an error).
#[inline(always)]
pub(crate) fn field_in(fields: &[(Handle<Str>, Value)], name: Handle<Str>) -> Option<Value> {
    fields.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
}

/// The field `name` of a field list, to write in place.
#[inline(always)]
fn field_in_mut(fields: &mut [(Handle<Str>, Value)], name: Handle<Str>) -> Option<&mut Value> {
    fields.iter_mut().find(|(n, _)| *n == name).map(|(_, v)| v)
}

/// Sets the field `name` of a field list, adding it after the others the first time.
#[inline(always)]
pub(crate) fn set_field_in(
    fields: &mut Vec<(Handle<Str>, Value)>,
    name: Handle<Str>,
    value: Value,
) {
    match field_in_mut(fields, name) {
        Some(field) => *field = value,
        None => add_field(fields, name, value),
    }
}

/// A field's first assignment, out of line: it may grow the list.
#[inline(never)]
fn add_field(fields: &mut Vec<(Handle<Str>, Value)>, name: Handle<Str>, value: Value) {
    fields.push((name, value));
}

/// An error value. `kind`, `message` and `trace` are read as fields; scripts may add others.
#[derive(Debug)]
pub struct ErrorObj {
    /// The error kind, e.g. `TypeError`.
    pub kind: Rc<str>,
    /// The message.
    pub message: Rc<str>,
    /// Frames as `fn file:line:col`, innermost first; empty until the error is thrown or built.
    pub trace: Vec<String>,
    /// Extra fields (`suppressed`, `errors`, user additions).
    pub fields: Vec<(Handle<Str>, Value)>,
}
