//! `Value`: the 16-byte, `Copy` representation of every Weft value.
//!
//! Immediate values (nil, booleans, ints, floats) live in the `Value` itself; everything else is a
//! typed `Handle` into one of the heap's slabs (see `heap.rs`). Copying a `Value` never touches the
//! heap; the collector finds live objects by tracing from the roots.

use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;

use crate::object::{
    BoundMethod, Cell, Class, Closure, ErrorObj, Instance, List, Map, RangeObj, Str,
};
use crate::task::{Channel, ScopeObj, Task};

/// A typed index into the heap slab holding `T`.
pub struct Handle<T> {
    index: u32,
    marker: PhantomData<fn() -> T>,
}

impl<T> Handle<T> {
    /// Wraps a slab index.
    pub(crate) const fn new(index: u32) -> Handle<T> {
        Handle {
            index,
            marker: PhantomData,
        }
    }

    /// The slab index.
    pub fn index(self) -> u32 {
        self.index
    }
}

impl<T> Clone for Handle<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Handle<T> {}
impl<T> PartialEq for Handle<T> {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index
    }
}
impl<T> Eq for Handle<T> {}
impl<T> std::hash::Hash for Handle<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.index.hash(state)
    }
}
impl<T> fmt::Debug for Handle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.index)
    }
}

/// Index of a native function in the VM's native table.
pub type NativeId = u32;
/// Index of a module in the VM's module table.
pub type ModuleId = u32;

/// A Weft value.
///
/// `repr(u64)` lays every variant out as an 8-byte tag and its payload at offset 8. Without it a
/// `bool` sat at offset 1 and a handle at 4, so a copy of a whole value moved bytes 1..16 as two
/// overlapping unaligned words through a stack temporary, and the next 16-byte load of that
/// register could not be forwarded from those stores (perf, calls benchmark: 8.5% of the samples
/// on one such store).
#[derive(Clone, Copy, Debug, Default)]
#[repr(u64)]
pub enum Value {
    /// `nil`.
    #[default]
    Nil,
    /// `true` / `false`.
    Bool(bool),
    /// A 64-bit integer; arithmetic overflow raises OverflowError.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// An immutable UTF-8 string.
    Str(Handle<Str>),
    /// A mutable list.
    List(Handle<List>),
    /// A mutable insertion-ordered map.
    Map(Handle<Map>),
    /// A range `a..b`, `a..=b` (or with a step, from `range`).
    Range(Handle<RangeObj>),
    /// A closure: compiled function plus captured cells.
    Func(Handle<Closure>),
    /// A native function.
    Native(NativeId),
    /// A method bound to its receiver (`p.norm` without a call).
    Bound(Handle<BoundMethod>),
    /// A class (calling it constructs an instance).
    Class(Handle<Class>),
    /// An instance of a class.
    Instance(Handle<Instance>),
    /// An error value with kind, message and trace.
    Error(Handle<ErrorObj>),
    /// A module (standard or file).
    Module(ModuleId),
    /// A task (`spawn`).
    Task(Handle<Task>),
    /// A channel (`channel(n)`).
    Channel(Handle<Channel>),
    /// A structured-concurrency scope (`scope |s| { }`).
    Scope(Handle<ScopeObj>),
    /// A captured variable's cell (never visible to scripts).
    Cell(Handle<Cell>),
    /// Internal marker: a missing argument or an undefined global. Never visible to scripts.
    Undef,
}

impl Value {
    /// Only `nil` and `false` are falsy.
    #[inline]
    pub fn truthy(self) -> bool {
        !matches!(self, Value::Nil | Value::Bool(false))
    }
}

/// `*to = *from`, copied as the value's two 8-byte words. A register has usually just been
/// written by two 8-byte stores (tag and payload), and the compiler's 16-byte copy of it cannot
/// be forwarded from them and stalls for about a dozen cycles (perf, fib: 7.6% of the samples on
/// the copy of `return`'s result). Reading every register this way was tried: a `Value` put
/// back together from its words went through a stack temporary, and the stall moved there.
///
/// # Safety
/// `from` and `to` must be valid for reading and writing one `Value`.
#[inline(always)]
pub(crate) unsafe fn copy_words(from: *const Value, to: *mut Value) {
    const _: () = assert!(std::mem::size_of::<Value>() == 16);
    let (from, to) = (
        from.cast::<MaybeUninit<u64>>(),
        to.cast::<MaybeUninit<u64>>(),
    );
    // SAFETY: a `Value` is two 8-byte words, valid by the caller's promise. They are moved as
    // `MaybeUninit`, so padding is carried, never read as an int. The volatile reads keep
    // the words apart: ordinary ones were merged back into one 16-byte load.
    unsafe {
        let tag = from.read_volatile();
        let payload = from.add(1).read_volatile();
        to.write(tag);
        to.add(1).write(payload);
    }
}

/// `*to = *from` as two 8-byte words (see `copy_words`), for a value that was just written to
/// memory the same way, such as a native's result.
#[inline(always)]
pub(crate) fn copy_value(from: &Value, to: &mut Value) {
    // SAFETY: both are references to a `Value`, valid for reading and writing one.
    unsafe { copy_words(from, to) }
}
