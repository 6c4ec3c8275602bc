//! Control flow: `if`, loops, `break`/`continue`/`return`, `match` and `try`/`catch`/`finally`.
//!
//! `finally` blocks are compiled inline on every path that leaves the protected region: normal
//! completion, each `catch`, a rethrow, and `break`/`continue`/`return` jumping out of it.

use crate::bytecode::{Cmp, Op, Reg};
use crate::compiler::Compiler;
use crate::function::{LoopCtx, TryCtx};
use weft_syntax::ast::*;
use weft_syntax::Span;

impl Compiler<'_> {
    /// Emits a conditional jump taken when `cond` is falsy; returns it for patching. A
    /// comparison is fused with the branch (`n < 2` is one instruction, not three), with the
    /// right operand as an immediate when it is a small int literal or `nil` (with `return x`
    /// without a copy: fib(25) 136M -> 121M instructions, binary_trees 12 1.50G -> 1.23G).
    pub fn jump_if_false(&mut self, cond: &Expr) -> usize {
        let mark = self.mark();
        let fused = match &cond.kind {
            ExprKind::Binary { op, lhs, rhs } => comparison(*op).map(|cmp| (cmp, lhs, rhs)),
            _ => None,
        };
        let at = match fused {
            Some((cmp, lhs, rhs)) => {
                let lhs = self.expr_any(lhs);
                let op = match (&rhs.kind, cmp) {
                    (ExprKind::Int(n), _) if i8::try_from(*n).is_ok() => Op::JumpIfNotImm {
                        cmp,
                        lhs,
                        imm: *n as i8,
                        offset: 0,
                    },
                    (ExprKind::Nil, Cmp::Eq) => Op::JumpIfNotNil {
                        src: lhs,
                        offset: 0,
                    },
                    (ExprKind::Nil, Cmp::Ne) => Op::JumpIfNil {
                        src: lhs,
                        offset: 0,
                    },
                    _ => Op::JumpIfNot {
                        cmp,
                        lhs,
                        rhs: self.expr_any(rhs),
                        offset: 0,
                    },
                };
                self.emit(op, cond.span)
            }
            None => {
                let r = self.expr_any(cond);
                self.emit(Op::JumpIfFalse { cond: r, offset: 0 }, cond.span)
            }
        };
        self.free_to(mark);
        at
    }

    pub fn if_expr(&mut self, cond: &Expr, then: &Block, else_: Option<&Expr>, dst: Option<Reg>) {
        let to_else = self.jump_if_false(cond);
        self.block(then, dst);
        match else_ {
            None => {
                if let Some(dst) = dst {
                    let over = self.emit(Op::Jump { offset: 0 }, then.span);
                    self.f().patch_to_here(to_else);
                    self.emit(Op::LoadNil { dst }, then.span);
                    self.f().patch_to_here(over);
                } else {
                    self.f().patch_to_here(to_else);
                }
            }
            Some(else_expr) => {
                let over = self.emit(Op::Jump { offset: 0 }, then.span);
                self.f().patch_to_here(to_else);
                match dst {
                    Some(dst) => self.expr(else_expr, dst),
                    None => self.expr_stmt(else_expr),
                }
                self.f().patch_to_here(over);
            }
        }
    }

    fn push_loop(&mut self, continue_target: Option<usize>) {
        let f = self.f();
        let ctx = LoopCtx {
            continue_target,
            continue_jumps: Vec::new(),
            break_jumps: Vec::new(),
            try_depth: f.tries.len(),
        };
        f.loops.push(ctx);
    }

    fn pop_loop(&mut self) {
        let ctx = self.f().loops.pop().expect("loop context");
        for jump in ctx.break_jumps {
            self.f().patch_to_here(jump);
        }
    }

    pub fn while_loop(&mut self, cond: &Expr, body: &Block) {
        let top = self.f().here();
        let exit = self.jump_if_false(cond);
        self.push_loop(Some(top));
        self.block(body, None);
        self.f().jump_back(top, body.span);
        self.f().patch_to_here(exit);
        self.pop_loop();
    }

    /// `for pattern in iterable { body }`, with the test at the bottom: `IterInit`, a jump to
    /// the `IterLoop` that takes the next item and jumps back into the body. One instruction an
    /// iteration less than a test at the top and a jump back (loop benchmark: 5 -> 4).
    pub fn for_loop(&mut self, pattern: &Pattern, iterable: &Expr, body: &Block) {
        let mark = self.mark();
        let iter = self.alloc_n(2);
        self.expr(iterable, iter);
        self.emit(Op::IterInit { iter, src: iter }, iterable.span);
        self.f().begin_scope();
        let item = self.alloc();
        let entry = self.emit(Op::Jump { offset: 0 }, pattern.span);
        let top = self.f().here();
        self.push_loop(None);
        self.f().begin_scope();
        match &pattern.kind {
            // A cell is made per iteration, so closures created in the body see distinct bindings.
            PatternKind::Bind(name) => self.declare_local(&name.text, item, false, name.span),
            PatternKind::Wildcard => {}
            _ => self.destructure(pattern, item, false),
        }
        self.block(body, None);
        self.f().end_scope();
        self.f().patch_to_here(entry);
        let continues =
            std::mem::take(&mut self.f().loops.last_mut().expect("loop").continue_jumps);
        for jump in continues {
            self.f().patch_to_here(jump);
        }
        let next = self.emit(
            Op::IterLoop {
                iter,
                dst: item,
                offset: 0,
            },
            pattern.span,
        );
        self.f().patch(next, top);
        self.pop_loop();
        self.f().end_scope();
        self.free_to(mark);
    }

    /// Leaves the `try` regions between here and depth `until`: pops their handlers and runs their
    /// `finally` blocks inline, innermost first.
    fn unwind_tries(&mut self, until: usize) {
        let saved = self.f().tries.clone();
        for i in (until..saved.len()).rev() {
            self.f().tries.truncate(i);
            if saved[i].has_handler {
                self.emit(Op::TryEnd, Span::default());
            }
            if let Some(finally) = &saved[i].finally {
                self.block(finally, None);
            }
            if let Some(scope) = saved[i].scope {
                self.leave_scope(scope);
            }
        }
        self.f().tries = saved;
    }

    pub fn break_loop(&mut self, span: Span) {
        let Some(depth) = self.f().loops.last().map(|l| l.try_depth) else {
            self.error(span, "'break' outside of a loop");
            return;
        };
        self.unwind_tries(depth);
        let at = self.emit(Op::Jump { offset: 0 }, span);
        self.f()
            .loops
            .last_mut()
            .expect("loop")
            .break_jumps
            .push(at);
    }

    pub fn continue_loop(&mut self, span: Span) {
        let Some((depth, target)) = self
            .f()
            .loops
            .last()
            .map(|l| (l.try_depth, l.continue_target))
        else {
            self.error(span, "'continue' outside of a loop");
            return;
        };
        self.unwind_tries(depth);
        match target {
            Some(target) => self.f().jump_back(target, span),
            None => {
                let at = self.emit(Op::Jump { offset: 0 }, span);
                self.f()
                    .loops
                    .last_mut()
                    .expect("loop")
                    .continue_jumps
                    .push(at);
            }
        }
    }

    pub fn return_expr(&mut self, value: Option<&Expr>, span: Span) {
        // Outside any `try`, `return x` returns the local's register itself (no copy); inside
        // one, the value is copied first, as a `finally` that runs on the way out may assign `x`.
        let r = match value {
            Some(v) if self.f().tries.is_empty() => self.expr_any(v),
            Some(v) => {
                let r = self.alloc();
                self.expr(v, r);
                r
            }
            None => {
                let r = self.alloc();
                self.emit(Op::LoadNil { dst: r }, span);
                r
            }
        };
        self.unwind_tries(0);
        self.emit(Op::Return { src: r }, span);
    }

    pub fn match_expr(&mut self, subject: &Expr, arms: &[MatchArm], dst: Option<Reg>, span: Span) {
        let mark = self.mark();
        let subj = self.alloc();
        self.expr(subject, subj);
        let mut end_jumps = Vec::new();
        for arm in arms {
            self.f().begin_scope();
            let mut fails = Vec::new();
            self.refutable_pattern(&arm.pattern, subj, &mut fails);
            if let Some(guard) = &arm.guard {
                fails.push(self.jump_if_false(guard));
            }
            match dst {
                Some(dst) => self.expr(&arm.body, dst),
                None => self.expr_stmt(&arm.body),
            }
            self.f().end_scope();
            end_jumps.push(self.emit(Op::Jump { offset: 0 }, arm.span));
            for jump in fails {
                self.f().patch_to_here(jump);
            }
        }
        self.emit(Op::NoMatch { src: subj }, span);
        for jump in end_jumps {
            self.f().patch_to_here(jump);
        }
        self.free_to(mark);
    }

    pub fn try_expr(
        &mut self,
        body: &Block,
        catches: &[CatchClause],
        finally: Option<&Block>,
        dst: Option<Reg>,
        span: Span,
    ) {
        let mark = self.mark();
        let err = self.alloc();
        let handler = self.emit(Op::TryBegin { err, offset: 0 }, span);
        self.f().tries.push(TryCtx {
            has_handler: true,
            finally: finally.cloned(),
            scope: None,
        });
        self.block(body, dst);
        self.f().tries.pop();
        self.emit(Op::TryEnd, span);
        if let Some(finally) = finally {
            self.block(finally, None);
        }
        let mut end_jumps = vec![self.emit(Op::Jump { offset: 0 }, span)];
        self.f().patch_to_here(handler);
        for catch in catches {
            // A bare `catch` does not catch `Cancelled` (LANGUAGE.md §5).
            let skip = catch.guard.is_none().then(|| {
                self.emit(
                    Op::SkipCancelled {
                        src: err,
                        offset: 0,
                    },
                    catch.span,
                )
            });
            self.f().begin_scope();
            if let Some(name) = &catch.name {
                let r = self.alloc();
                self.emit(Op::Move { dst: r, src: err }, name.span);
                self.declare_local(&name.text, r, false, name.span);
            }
            let next_clause = catch.guard.as_ref().map(|g| self.jump_if_false(g));
            match finally {
                Some(finally) => {
                    // An error inside the catch body must still run `finally`, so it gets its own handler.
                    let err2 = self.alloc();
                    let handler2 = self.emit(
                        Op::TryBegin {
                            err: err2,
                            offset: 0,
                        },
                        catch.span,
                    );
                    self.f().tries.push(TryCtx {
                        has_handler: true,
                        finally: Some(finally.clone()),
                        scope: None,
                    });
                    self.block(&catch.body, dst);
                    self.f().tries.pop();
                    self.emit(Op::TryEnd, catch.span);
                    self.block(finally, None);
                    end_jumps.push(self.emit(Op::Jump { offset: 0 }, catch.span));
                    self.f().patch_to_here(handler2);
                    self.finally_then_rethrow(finally, err2, catch.span);
                }
                None => {
                    self.block(&catch.body, dst);
                    end_jumps.push(self.emit(Op::Jump { offset: 0 }, catch.span));
                }
            }
            self.f().end_scope();
            for jump in next_clause.into_iter().chain(skip) {
                self.f().patch_to_here(jump);
            }
        }
        match finally {
            Some(finally) => self.finally_then_rethrow(finally, err, span),
            None => {
                self.emit(Op::Rethrow { src: err }, span);
            }
        }
        for jump in end_jumps {
            self.f().patch_to_here(jump);
        }
        self.free_to(mark);
    }

    /// The `finally` of an error path, then the rethrow of `R[err]`. A `Cancelled` raised inside
    /// that `finally` does not replace the error already propagating (LANGUAGE.md §7.3).
    fn finally_then_rethrow(&mut self, finally: &Block, err: Reg, span: Span) {
        let mark = self.mark();
        let inner = self.alloc();
        let handler = self.emit(
            Op::TryBegin {
                err: inner,
                offset: 0,
            },
            span,
        );
        self.f().tries.push(TryCtx {
            has_handler: true,
            finally: None,
            scope: None,
        });
        self.block(finally, None);
        self.f().tries.pop();
        self.emit(Op::TryEnd, span);
        self.emit(Op::Rethrow { src: err }, span);
        self.f().patch_to_here(handler);
        self.emit(
            Op::RethrowOver {
                src: inner,
                over: err,
            },
            span,
        );
        self.free_to(mark);
    }
}

/// The fused comparison for a binary operator, if it is one.
fn comparison(op: BinOp) -> Option<Cmp> {
    Some(match op {
        BinOp::Lt => Cmp::Lt,
        BinOp::Le => Cmp::Le,
        BinOp::Gt => Cmp::Gt,
        BinOp::Ge => Cmp::Ge,
        BinOp::Eq => Cmp::Eq,
        BinOp::Ne => Cmp::Ne,
        _ => return None,
    })
}
