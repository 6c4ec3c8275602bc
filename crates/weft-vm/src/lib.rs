//! The Weft virtual machine: values, the garbage-collected heap, and the stackless interpreter.
//!
//! This crate never blocks and never depends on an async runtime: [`Vm::run`] executes a bounded
//! amount of work and returns a [`Halt`], leaving the decision of when to continue to its caller.

mod access;
mod call;
mod channel;
mod divisor;
mod error;
mod format;
mod heap;
mod host;
mod interp;
mod method_cache;
mod module;
mod object;
mod ops;
mod permissions;
mod process;
mod rare_ops;
mod scheduler;
mod scope;
pub mod stdlib;
mod table;
mod task;
mod text;
mod value;
mod vm;

pub use access::{normalize_index, slice_bounds};
pub use error::{raise, type_error, value_error, Exc, Raised, VmResult};
pub use format::{format_float, quote_str};
pub use heap::Heap;
pub use host::HostOp;
pub use object::{Key, Map, RangeObj};
pub use ops::Arith;
pub use permissions::{resolve, Access, Grant, NetGrant, Permissions};
pub use scheduler::{Limits, Scheduler, DEFAULT_CANCEL_GRACE, REDUCTIONS};
pub use scope::SpawnKind;
pub use task::{Priority, Task};
pub use text::Text;
pub use value::{Handle, Value};
pub use vm::{
    FnProto, Halt, Native, NativeClosure, NativeCode, NativeFn, TypeTag, Vm, DEFAULT_MAX_FRAMES,
};
pub use weft_compiler::{Op, Proto};
