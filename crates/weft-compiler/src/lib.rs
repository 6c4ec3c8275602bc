//! Weft's compiler: turns the AST of one file into register bytecode (`Proto`s).
//!
//! The compiler is a single pass over the AST per function. Locals live in registers; locals that a
//! nested function uses live in heap cells (see `capture.rs`), which gives closures capture by
//! reference and a fresh binding per loop iteration for free. Module-level declarations are globals
//! resolved to slots of a [`ModuleScope`] at compile time.

mod bytecode;
mod capture;
mod compiler;
mod control;
mod expr;
mod function;
mod pattern;
mod proto;
mod receive;
mod select;
mod spawn;
mod stmt;

pub use bytecode::{Cmp, ConstIdx, Op, Reg};
pub use compiler::compile_module;
pub use proto::{Capture, Constant, ModuleScope, Proto};
