//! Code generation for tasks and scopes: `spawn`, `spawn_detached`, `spawn_link`, and
//! `scope { }`, `supervisor { }`, `shield { }`.
//!
//! `spawn f(a, b)` evaluates `f`, `a` and `b` in the spawning task (as Go's `go` statement does), so
//! a loop that spawns sees each iteration's values; any other spawned expression (a block, an
//! operator, a call with named or spread arguments) becomes a closure of no parameters that the
//! task calls. A scope block is compiled inline: its body runs under a handler so that an error
//! still closes the scope (cancelling the children and waiting for them) before it propagates.

use std::rc::Rc;

use weft_syntax::ast::{
    Arg, Block, Expr, ExprKind, FnDecl, Name, ScopeKind, SpawnKind, Stmt, StmtKind,
};
use weft_syntax::Span;

use crate::bytecode::{Op, Reg};
use crate::compiler::Compiler;
use crate::function::TryCtx;

/// The callee and positional arguments of a spawned call that can be evaluated in the spawner.
pub(crate) fn direct_call(expr: &Expr) -> Option<(&Expr, &[Arg])> {
    match &expr.kind {
        ExprKind::Call { callee, args }
            if args.len() <= 250 && args.iter().all(|a| matches!(a, Arg::Positional(_))) =>
        {
            Some((callee, args))
        }
        _ => None,
    }
}

impl Compiler<'_> {
    /// `spawn expr` into `R[dst]`.
    pub(crate) fn spawn_expr(&mut self, kind: SpawnKind, expr: &Expr, dst: Reg, span: Span) {
        let kind = match kind {
            SpawnKind::Child => 0,
            SpawnKind::Detached => 1,
            SpawnKind::Link => 2,
        };
        let mark = self.mark();
        let func = self.alloc();
        let argc = match direct_call(expr) {
            Some((callee, args)) => {
                match &callee.kind {
                    // `spawn obj.m(x)`: the bound method is the task's callee.
                    ExprKind::Field { object, name } => {
                        let obj = self.expr_any(object);
                        let name = self.f().str_constant(&name.text);
                        self.emit(
                            Op::GetField {
                                dst: func,
                                obj,
                                name,
                            },
                            callee.span,
                        );
                    }
                    _ => self.expr(callee, func),
                }
                self.positional_args(args);
                args.len() as u8
            }
            None => {
                let body = match &expr.kind {
                    ExprKind::Block(block) => block.clone(),
                    _ => Block {
                        stmts: vec![Stmt {
                            kind: StmtKind::Expr(expr.clone()),
                            span: expr.span,
                        }],
                        span: expr.span,
                    },
                };
                let decl = FnDecl {
                    name: None,
                    params: Vec::new(),
                    body,
                    is_async: false,
                    span: expr.span,
                };
                let proto = self.function(&decl, Rc::from("<spawn>"), None);
                self.emit(Op::Closure { dst: func, proto }, span);
                0
            }
        };
        self.emit(Op::Spawn { func, argc, kind }, span);
        self.move_to(dst, func, span);
        self.free_to(mark);
    }

    /// `scope { }`, `scope |s| { }`, `supervisor { }`, `shield { }` into `R[dst]`.
    pub(crate) fn scope_expr(
        &mut self,
        kind: ScopeKind,
        name: Option<&Name>,
        body: &Block,
        dst: Reg,
        span: Span,
    ) {
        let kind = match kind {
            ScopeKind::Scope => 0,
            ScopeKind::Supervisor => 1,
            ScopeKind::Shield => 2,
        };
        let mark = self.mark();
        let scope = self.alloc();
        let value = self.alloc();
        self.emit(Op::ScopeEnter { dst: scope, kind }, span);
        let handler = self.emit(
            Op::TryBegin {
                err: value,
                offset: 0,
            },
            span,
        );
        self.f().tries.push(TryCtx {
            has_handler: true,
            finally: None,
            scope: Some(scope),
        });
        self.f().begin_scope();
        if let Some(name) = name {
            let r = self.alloc();
            self.emit(Op::Move { dst: r, src: scope }, name.span);
            self.declare_local(&name.text, r, true, name.span);
        }
        self.block(body, Some(value));
        self.f().end_scope();
        self.f().tries.pop();
        self.emit(Op::TryEnd, span);
        self.emit(
            Op::ScopeExit {
                dst: value,
                scope,
                failed: false,
            },
            span,
        );
        let done = self.emit(Op::Jump { offset: 0 }, span);
        self.f().patch_to_here(handler);
        self.emit(
            Op::ScopeExit {
                dst: value,
                scope,
                failed: true,
            },
            span,
        );
        self.f().patch_to_here(done);
        self.move_to(dst, value, span);
        self.free_to(mark);
    }

    /// Closes scope `R[scope]` on a `break`, `continue` or `return` that leaves it: waits for its
    /// children, and throws if one of them failed.
    pub(crate) fn leave_scope(&mut self, scope: Reg) {
        let mark = self.mark();
        let tmp = self.alloc();
        self.emit(Op::LoadNil { dst: tmp }, Span::default());
        self.emit(
            Op::ScopeExit {
                dst: tmp,
                scope,
                failed: false,
            },
            Span::default(),
        );
        self.free_to(mark);
    }
}
