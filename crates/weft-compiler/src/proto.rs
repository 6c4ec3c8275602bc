//! Compiled functions (`Proto`), their constants, and module-level name tables.

use crate::bytecode::Op;
use rustc_hash::FxHashMap;
use std::rc::Rc;
use weft_syntax::{SourceFile, Span};

/// A compile-time constant. Strings become heap strings when the VM loads the proto.
#[derive(Clone, Debug, PartialEq)]
pub enum Constant {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string (also used for field, method and module names).
    Str(Rc<str>),
}

/// Where a closure's captured cell comes from when the closure is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capture {
    /// The cell in register `R[reg]` of the enclosing frame.
    Local(u8),
    /// The enclosing closure's own upvalue number `idx`.
    Upval(u8),
}

/// One compiled function: its code, constants, nested functions and calling convention.
#[derive(Debug)]
pub struct Proto {
    /// Display name: `fib`, `Point.norm`, `<closure>`, `<main>`.
    pub name: Rc<str>,
    /// For methods, the bare method name (`norm`); empty otherwise.
    pub method_name: Rc<str>,
    /// Parameter names in order (not counting `R[0]`); the rest parameter is last when `has_rest`.
    pub params: Vec<Rc<str>>,
    /// `has_default[i]`: parameter `i` has a default value (missing arguments are then allowed).
    pub has_default: Vec<bool>,
    /// The last parameter collects extra positional arguments into a list.
    pub has_rest: bool,
    /// `async fn`: calling it starts a task.
    pub is_async: bool,
    /// Number of registers the frame needs (including `R[0]`).
    pub n_regs: u8,
    /// The instructions.
    pub code: Vec<Op>,
    /// The source span of each instruction (same length as `code`).
    pub spans: Vec<Span>,
    /// The constant table.
    pub consts: Vec<Constant>,
    /// Functions defined inside this one, referenced by `Closure { proto }`.
    pub protos: Vec<Rc<Proto>>,
    /// How each upvalue of a closure of this proto is captured from the creating frame.
    pub captures: Vec<Capture>,
    /// The file the function comes from.
    pub file: Rc<SourceFile>,
}

impl Proto {
    /// `file:line:col` of instruction `pc`.
    pub fn location(&self, pc: usize) -> String {
        let span = self.spans.get(pc).copied().unwrap_or_default();
        let (line, col) = self.file.line_col(span.start);
        format!("{}:{}:{}", self.file.name, line, col)
    }
}

/// The global names of one module. It outlives a single compilation so the REPL can compile line
/// after line into the same module, and the VM keeps one per module.
#[derive(Debug, Default, Clone)]
pub struct ModuleScope {
    /// Global names in slot order.
    pub names: Vec<Rc<str>>,
    /// Which slots are `const`.
    pub is_const: Vec<bool>,
    index: FxHashMap<Rc<str>, u16>,
}

impl ModuleScope {
    /// The slot of `name`, creating it when new.
    pub fn slot(&mut self, name: &Rc<str>) -> u16 {
        if let Some(&slot) = self.index.get(name) {
            return slot;
        }
        let slot = self.names.len() as u16;
        self.names.push(name.clone());
        self.is_const.push(false);
        self.index.insert(name.clone(), slot);
        slot
    }

    /// The slot of `name` if it exists.
    pub fn lookup(&self, name: &str) -> Option<u16> {
        self.index.get(name).copied()
    }
}
