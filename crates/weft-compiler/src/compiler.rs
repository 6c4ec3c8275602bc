//! The compiler driver: the function stack, name resolution and function compilation.

use crate::bytecode::{Op, Reg};
use crate::capture::names_used_by_nested_fns;
use crate::function::{FnState, Local};
use crate::proto::{Capture, ModuleScope, Proto};
use std::rc::Rc;
use weft_syntax::ast::*;
use weft_syntax::{Diagnostic, SourceFile, Span};

/// Compiles a parsed file into the `<main>` proto of a module.
///
/// `module` holds the module's global names and is extended with new ones; the REPL passes the same
/// scope for every line. With `return_last`, a final expression statement's value is returned (REPL).
pub fn compile_module(
    program: &Program,
    file: Rc<SourceFile>,
    module: &mut ModuleScope,
    return_last: bool,
) -> Result<Rc<Proto>, Vec<Diagnostic>> {
    let top = Block {
        stmts: program.stmts.clone(),
        span: Span::default(),
    };
    let captured = names_used_by_nested_fns(&[], &top);
    let mut main = FnState::new(Rc::from("<main>"), captured, Span::default());
    main.is_module = true;
    let mut compiler = Compiler {
        fns: vec![main],
        module,
        file: file.clone(),
        diags: Vec::new(),
    };
    let n = program.stmts.len();
    let mut returned = false;
    for (i, stmt) in program.stmts.iter().enumerate() {
        if let (true, true, StmtKind::Expr(e)) = (return_last, i + 1 == n, &stmt.kind) {
            let r = compiler.alloc();
            compiler.expr(e, r);
            compiler.emit(Op::Return { src: r }, stmt.span);
            returned = true;
        } else {
            compiler.stmt(stmt);
        }
    }
    if !returned {
        compiler.return_nil(Span::default());
    }
    let state = compiler.fns.pop().expect("main function state");
    if compiler.diags.is_empty() {
        Ok(Rc::new(state.finish(
            Vec::new(),
            Vec::new(),
            false,
            false,
            file,
        )))
    } else {
        Err(compiler.diags)
    }
}

/// Where a name lives.
#[derive(Clone, Copy)]
pub(crate) enum Var {
    Local {
        reg: Reg,
        in_cell: bool,
        is_const: bool,
    },
    Upval {
        idx: u8,
        is_const: bool,
    },
    Global {
        slot: u16,
    },
}

pub(crate) struct Compiler<'m> {
    pub fns: Vec<FnState>,
    pub module: &'m mut ModuleScope,
    pub file: Rc<SourceFile>,
    pub diags: Vec<Diagnostic>,
}

impl Compiler<'_> {
    /// The function currently being compiled.
    pub fn f(&mut self) -> &mut FnState {
        self.fns.last_mut().expect("a function is being compiled")
    }

    pub fn error(&mut self, span: Span, message: impl Into<String>) {
        self.diags.push(Diagnostic::new(span, message));
    }

    pub fn emit(&mut self, op: Op, span: Span) -> usize {
        self.f().emit(op, span)
    }

    pub fn return_nil(&mut self, span: Span) {
        let r = self.alloc();
        self.emit(Op::LoadNil { dst: r }, span);
        self.emit(Op::Return { src: r }, span);
        self.free_to(r as u16);
    }

    pub fn mark(&mut self) -> u16 {
        self.f().next_reg
    }

    pub fn free_to(&mut self, mark: u16) {
        self.f().free_to(mark);
    }

    /// Allocates a temporary; on overflow reports one diagnostic and returns a dummy register.
    pub fn alloc(&mut self) -> Reg {
        self.alloc_n(1)
    }

    pub fn alloc_n(&mut self, n: u16) -> Reg {
        match self.f().alloc_n(n) {
            Some(r) => r,
            None => {
                let span = self.f().span;
                if !self
                    .diags
                    .iter()
                    .any(|d| d.message.starts_with("function needs more than"))
                {
                    self.error(
                        span,
                        "function needs more than 255 registers; split it into smaller functions",
                    );
                }
                0
            }
        }
    }

    /// Declaration at the top level of a module binds a global.
    pub fn at_module_level(&mut self) -> bool {
        let f = self.f();
        f.is_module && f.scope_depth == 0
    }

    /// Makes the value in `reg` the local `name`, wrapping it in a cell when a nested function uses it.
    pub fn declare_local(&mut self, name: &Rc<str>, reg: Reg, is_const: bool, span: Span) {
        let in_cell = self.f().captured_names.contains(name);
        if in_cell {
            self.emit(Op::NewCell { dst: reg, src: reg }, span);
        }
        let depth = self.f().scope_depth;
        self.f().locals.push(Local {
            name: name.clone(),
            reg,
            in_cell,
            is_const,
            depth,
        });
    }

    /// Binds `name` to the value in `reg` where the current scope declares things: a global at module
    /// level, a local otherwise.
    pub fn bind(&mut self, name: &Rc<str>, reg: Reg, is_const: bool, span: Span) {
        if self.at_module_level() {
            let slot = self.module.slot(name);
            self.module.is_const[slot as usize] = is_const;
            self.emit(Op::SetGlobal { src: reg, slot }, span);
        } else {
            self.declare_local(name, reg, is_const, span);
        }
    }

    pub fn resolve(&mut self, name: &Rc<str>) -> Var {
        if let Some(local) = self.f().find_local(name) {
            return Var::Local {
                reg: local.reg,
                in_cell: local.in_cell,
                is_const: local.is_const,
            };
        }
        let top = self.fns.len() - 1;
        if let Some((idx, is_const)) = self.resolve_upval(top, name) {
            return Var::Upval { idx, is_const };
        }
        Var::Global {
            slot: self.module.slot(name),
        }
    }

    /// Finds `name` in an enclosing function and threads it through every function in between as an upvalue.
    fn resolve_upval(&mut self, fi: usize, name: &Rc<str>) -> Option<(u8, bool)> {
        if fi == 0 {
            return None;
        }
        if let Some(idx) = self.fns[fi].upval_names.iter().position(|n| n == name) {
            let is_const = self.upval_const(fi, idx);
            return Some((idx as u8, is_const));
        }
        let parent = fi - 1;
        let found = self.fns[parent]
            .find_local(name)
            .map(|l| (l.reg, l.in_cell, l.is_const));
        let (capture, is_const) = if let Some((reg, in_cell, is_const)) = found {
            if !in_cell {
                // The capture analysis is conservative, so this is a compiler bug, not a user error.
                let span = self.fns[fi].span;
                self.error(
                    span,
                    format!("internal error: '{name}' captured but not in a cell"),
                );
            }
            (Capture::Local(reg), is_const)
        } else {
            let (idx, is_const) = self.resolve_upval(parent, name)?;
            (Capture::Upval(idx), is_const)
        };
        let f = &mut self.fns[fi];
        f.captures.push(capture);
        f.upval_names.push(name.clone());
        f.upval_consts.push(is_const);
        Some(((f.captures.len() - 1) as u8, is_const))
    }

    fn upval_const(&self, fi: usize, idx: usize) -> bool {
        self.fns[fi].upval_consts[idx]
    }

    /// Compiles a function body into a new proto nested in the current function; returns its index.
    pub fn function(&mut self, decl: &FnDecl, name: Rc<str>, method_name: Option<Rc<str>>) -> u16 {
        let captured = names_used_by_nested_fns(&decl.params, &decl.body);
        let mut state = FnState::new(name, captured, decl.span);
        if let Some(m) = &method_name {
            state.is_method = true;
            state.method_name = m.clone();
        }
        self.fns.push(state);
        let span = decl.span;
        let mut params = Vec::new();
        let mut has_default = Vec::new();
        let mut has_rest = false;
        // Parameters are R[1..=n] by the calling convention, so they are allocated first.
        let first_param_reg = self.mark();
        self.alloc_n(decl.params.len() as u16);
        if method_name.is_some() {
            // `self` is R[0]. A captured `self` is copied into a cell in its own register, so R[0]
            // keeps the plain instance (constructors return it from there).
            let self_name: Rc<str> = Rc::from("self");
            let in_cell = self.f().captured_names.contains(&self_name);
            let reg = if in_cell {
                let r = self.alloc();
                self.emit(Op::NewCell { dst: r, src: 0 }, span);
                r
            } else {
                0
            };
            self.f().locals.push(Local {
                name: self_name,
                reg,
                in_cell,
                is_const: true,
                depth: 0,
            });
        }
        for (i, param) in decl.params.iter().enumerate() {
            let reg = first_param_reg as Reg + i as Reg;
            params.push(param.name.text.clone());
            has_default.push(param.default.is_some());
            has_rest |= param.rest;
            if let Some(default) = &param.default {
                let jump = self.emit(
                    Op::JumpIfGiven {
                        src: reg,
                        offset: 0,
                    },
                    default.span,
                );
                self.expr(default, reg);
                self.f().patch_to_here(jump);
            }
            self.declare_local(&param.name.text, reg, false, param.name.span);
        }
        let result = self.alloc();
        self.block(&decl.body, Some(result));
        self.emit(Op::Return { src: result }, span);
        let state = self.fns.pop().expect("function state");
        let proto = state.finish(
            params,
            has_default,
            has_rest,
            decl.is_async,
            self.file.clone(),
        );
        let f = self.f();
        f.protos.push(Rc::new(proto));
        (f.protos.len() - 1) as u16
    }

    /// Compiles a block; its value goes to `dst` when given. Local `fn`s and classes are hoisted so
    /// they can call each other regardless of order.
    pub fn block(&mut self, block: &Block, dst: Option<Reg>) {
        self.f().begin_scope();
        {
            for stmt in &block.stmts {
                let name = match &stmt.kind {
                    StmtKind::Fn(decl) => decl.name.as_ref().map(|n| n.text.clone()),
                    StmtKind::Class(class) => Some(class.name.text.clone()),
                    _ => None,
                };
                if let Some(name) = name {
                    let r = self.alloc();
                    self.emit(Op::LoadNil { dst: r }, stmt.span);
                    self.declare_local(&name, r, false, stmt.span);
                }
            }
        }
        let n = block.stmts.len();
        let mut valued = false;
        for (i, stmt) in block.stmts.iter().enumerate() {
            match (&stmt.kind, dst) {
                (StmtKind::Expr(e), Some(dst)) if i + 1 == n => {
                    self.expr(e, dst);
                    valued = true;
                }
                _ => self.stmt(stmt),
            }
        }
        if let (Some(dst), false) = (dst, valued) {
            self.emit(Op::LoadNil { dst }, block.span);
        }
        self.f().end_scope();
    }
}
