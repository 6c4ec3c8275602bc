//! The state of one function being compiled: registers, lexical scopes, locals, loops and `try`s.
//!
//! Registers are allocated like a stack: locals take the lowest free register when declared, and
//! temporaries sit above them. Leaving a scope frees its registers again.

use crate::bytecode::{Op, Reg};
use crate::proto::{Capture, Constant, Proto};
use rustc_hash::FxHashSet;
use std::rc::Rc;
use weft_syntax::ast::Block;
use weft_syntax::{SourceFile, Span};

/// A local variable.
pub(crate) struct Local {
    pub name: Rc<str>,
    pub reg: Reg,
    /// The register holds a cell (the variable is captured by a nested function).
    pub in_cell: bool,
    pub is_const: bool,
    /// Scope depth at which it was declared.
    pub depth: u32,
}

/// An enclosing loop: where `continue` goes and which jumps `break` must patch.
pub(crate) struct LoopCtx {
    /// Where `continue` jumps back to, or `None` when it is a forward jump (a `for` loop's
    /// `IterLoop` comes after its body): those jumps are in `continue_jumps` until patched.
    pub continue_target: Option<usize>,
    pub continue_jumps: Vec<usize>,
    pub break_jumps: Vec<usize>,
    /// Number of entries on `tries` when the loop started.
    pub try_depth: usize,
}

/// An enclosing `try` construct: whether a handler is pushed at this point, and the finally block
/// to run when control leaves it by `break`, `continue` or `return`.
#[derive(Clone)]
pub(crate) struct TryCtx {
    pub has_handler: bool,
    pub finally: Option<Block>,
    /// A `scope { }` block: the register holding the scope, closed on the way out.
    pub scope: Option<crate::bytecode::Reg>,
}

/// Compilation state of one function.
pub(crate) struct FnState {
    pub name: Rc<str>,
    pub method_name: Rc<str>,
    pub code: Vec<Op>,
    pub spans: Vec<Span>,
    pub consts: Vec<Constant>,
    pub protos: Vec<Rc<Proto>>,
    pub captures: Vec<Capture>,
    /// Upvalue names in capture order, parallel to `captures`.
    pub upval_names: Vec<Rc<str>>,
    /// Whether each upvalue refers to a `const`, parallel to `captures`.
    pub upval_consts: Vec<bool>,
    pub locals: Vec<Local>,
    pub scope_depth: u32,
    /// `next_reg` at the start of each open scope, restored when it closes.
    scope_marks: Vec<u16>,
    pub next_reg: u16,
    pub max_reg: u16,
    pub loops: Vec<LoopCtx>,
    pub tries: Vec<TryCtx>,
    /// Names used by nested functions: locals with these names live in cells.
    pub captured_names: FxHashSet<Rc<str>>,
    /// `self` is `R[0]` (methods only).
    pub is_method: bool,
    /// Top-level code of a module: scope-depth-0 declarations are globals.
    pub is_module: bool,
    pub span: Span,
}

impl FnState {
    pub fn new(name: Rc<str>, captured_names: FxHashSet<Rc<str>>, span: Span) -> FnState {
        FnState {
            name,
            method_name: Rc::from(""),
            code: Vec::new(),
            spans: Vec::new(),
            consts: Vec::new(),
            protos: Vec::new(),
            captures: Vec::new(),
            upval_names: Vec::new(),
            upval_consts: Vec::new(),
            locals: Vec::new(),
            scope_depth: 0,
            scope_marks: Vec::new(),
            next_reg: 1, // R[0] is the callee or `self`.
            max_reg: 1,
            loops: Vec::new(),
            tries: Vec::new(),
            captured_names,
            is_method: false,
            is_module: false,
            span,
        }
    }

    pub fn finish(
        mut self,
        params: Vec<Rc<str>>,
        has_default: Vec<bool>,
        has_rest: bool,
        is_async: bool,
        file: Rc<SourceFile>,
    ) -> Proto {
        self.return_in_place();
        Proto {
            name: self.name,
            method_name: self.method_name,
            params,
            has_default,
            has_rest,
            is_async,
            n_regs: self.max_reg.min(255) as u8,
            code: self.code,
            spans: self.spans,
            consts: self.consts,
            protos: self.protos,
            captures: self.captures,
            file,
        }
    }

    /// Returns where the code would only go on to return, one dispatch less on each call that
    /// gets there:
    /// - `LoadNil R[r]` before `Return R[r]` becomes `ReturnNil` (the `Return` stays, for any
    ///   jump to it). A function whose body ends in a statement returns so.
    /// - A `Jump` that lands on a return becomes that return. Every branch but the last of an
    ///   `if` or `match` that ends a function jumps over the others to it (`make` and `check`
    ///   of binary_trees).
    ///
    /// A return does the same wherever it is: it pops the frame, and the function's `try`
    /// handlers are found by depth, not by position. (Callgrind, binary_trees depth 12 and
    /// calls 1M: see `docs/performance.md`.)
    fn return_in_place(&mut self) {
        for at in 0..self.code.len().saturating_sub(1) {
            if let (Op::LoadNil { dst }, Op::Return { src }) = (self.code[at], self.code[at + 1]) {
                if dst == src {
                    self.code[at] = Op::ReturnNil;
                }
            }
        }
        for at in 0..self.code.len() {
            if let Op::Jump { offset } = self.code[at] {
                let target = (at as i64 + 1 + offset as i64) as usize;
                if let Some(&ret @ (Op::Return { .. } | Op::ReturnNil)) = self.code.get(target) {
                    self.code[at] = ret;
                    self.spans[at] = self.spans[target];
                }
            }
        }
    }

    pub fn emit(&mut self, op: Op, span: Span) -> usize {
        self.code.push(op);
        self.spans.push(span);
        self.code.len() - 1
    }

    /// Index of the next instruction to be emitted (a jump target).
    pub fn here(&self) -> usize {
        self.code.len()
    }

    /// Points the jump at `at` to the next instruction.
    pub fn patch_to_here(&mut self, at: usize) {
        let target = self.here();
        self.patch(at, target);
    }

    /// Points the jump at `at` to `target`.
    pub fn patch(&mut self, at: usize, target: usize) {
        let offset = target as i32 - (at as i32 + 1);
        match &mut self.code[at] {
            Op::Jump { offset: o }
            | Op::JumpIfFalse { offset: o, .. }
            | Op::JumpIfTrue { offset: o, .. }
            | Op::JumpIfGiven { offset: o, .. }
            | Op::JumpIfNot { offset: o, .. }
            | Op::JumpIfNotImm { offset: o, .. }
            | Op::JumpIfNotNil { offset: o, .. }
            | Op::JumpIfNil { offset: o, .. }
            | Op::TryBegin { offset: o, .. }
            | Op::IterLoop { offset: o, .. }
            | Op::TestList { offset: o, .. }
            | Op::TestMapKey { offset: o, .. }
            | Op::SkipCancelled { offset: o, .. }
            | Op::ReceiveNext { offset: o, .. } => *o = offset,
            other => unreachable!("patching a non-jump {other:?}"),
        }
    }

    /// Emits a backward jump to `target`.
    pub fn jump_back(&mut self, target: usize, span: Span) {
        let at = self.emit(Op::Jump { offset: 0 }, span);
        self.patch(at, target);
    }

    pub fn constant(&mut self, value: Constant) -> u16 {
        if let Some(idx) = self.consts.iter().position(|c| match (c, &value) {
            (Constant::Float(a), Constant::Float(b)) => a.to_bits() == b.to_bits(),
            (a, b) => a == b,
        }) {
            return idx as u16;
        }
        self.consts.push(value);
        (self.consts.len() - 1) as u16
    }

    pub fn str_constant(&mut self, text: &Rc<str>) -> u16 {
        self.constant(Constant::Str(text.clone()))
    }

    /// Allocates `n` consecutive temporaries, returning the first.
    pub fn alloc_n(&mut self, n: u16) -> Option<Reg> {
        let first = self.next_reg;
        if first + n > 255 {
            return None;
        }
        self.next_reg += n;
        self.max_reg = self.max_reg.max(self.next_reg);
        Some(first as Reg)
    }

    /// Frees every register from `mark` up.
    pub fn free_to(&mut self, mark: u16) {
        self.next_reg = mark;
    }

    pub fn begin_scope(&mut self) {
        self.scope_depth += 1;
        self.scope_marks.push(self.next_reg);
    }

    /// Closes the innermost scope, dropping its locals and their registers.
    pub fn end_scope(&mut self) {
        self.scope_depth -= 1;
        while self
            .locals
            .last()
            .is_some_and(|l| l.depth > self.scope_depth)
        {
            self.locals.pop();
        }
        if let Some(mark) = self.scope_marks.pop() {
            self.next_reg = mark;
        }
    }

    pub fn find_local(&self, name: &str) -> Option<&Local> {
        self.locals.iter().rev().find(|l| &*l.name == name)
    }
}

#[cfg(test)]
mod tests {
    use crate::{compile_module, ModuleScope, Proto};
    use std::rc::Rc;
    use weft_syntax::SourceFile;

    /// The code of the first function `source` declares, one instruction per line.
    fn first_function(source: &str) -> String {
        let (program, diagnostics) = weft_syntax::parse(source);
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        let file = SourceFile::new("test.weft", source);
        let module: Rc<Proto> = compile_module(&program, file, &mut ModuleScope::default(), false)
            .unwrap_or_else(|d| panic!("compile errors: {d:#?}"));
        let function = &module.protos[0];
        function
            .code
            .iter()
            .enumerate()
            .map(|(pc, op)| format!("{pc}: {op}\n"))
            .collect()
    }

    #[test]
    fn each_branch_that_ends_a_function_returns_where_it_is() {
        let code = first_function(
            "fn make(d) { if d > 0 { [make(d - 1), make(d - 1)] } else { [nil, nil] } }",
        );
        // The first call is laid out in the list's first register (no `Move` after it), and the
        // `then` branch returns instead of jumping over the `else` to the `Return`.
        assert_eq!(
            code,
            "0: JumpIfNotImm cmp=Gt lhs=1 imm=0 offset=8\n\
             1: GetGlobal dst=3 slot=0\n\
             2: AddInt dst=4 src=1 imm=-1\n\
             3: Call func=3 argc=1\n\
             4: GetGlobal dst=4 slot=0\n\
             5: AddInt dst=5 src=1 imm=-1\n\
             6: Call func=4 argc=1\n\
             7: NewList dst=2 start=3 count=2\n\
             8: Return src=2\n\
             9: LoadNil dst=3\n\
             10: LoadNil dst=4\n\
             11: NewList dst=2 start=3 count=2\n\
             12: Return src=2\n"
        );
    }

    #[test]
    fn a_body_that_ends_in_a_statement_returns_nil_in_one_instruction() {
        let code = first_function("fn add(o, x) {\n  o.n = o.n + x\n}\n");
        assert_eq!(
            code,
            "0: GetField dst=5 obj=1 name=0\n\
             1: Add dst=4 lhs=5 rhs=2\n\
             2: SetField obj=1 name=0 src=4\n\
             3: ReturnNil\n\
             4: Return src=3\n"
        );
    }

    #[test]
    fn an_if_without_else_returns_from_each_branch() {
        let code = first_function("fn f(x) {\n  if x { print(x) }\n}\n");
        assert_eq!(
            code,
            "0: JumpIfFalse cond=1 offset=4\n\
             1: GetGlobal dst=2 slot=0\n\
             2: Move dst=3 src=1\n\
             3: Call func=2 argc=1\n\
             4: Return src=2\n\
             5: ReturnNil\n\
             6: Return src=2\n"
        );
    }
}
