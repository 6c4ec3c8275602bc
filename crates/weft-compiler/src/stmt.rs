//! Statements: `let`/`const`, `fn`, `class`, `import` and expression statements.

use crate::bytecode::Op;
use crate::compiler::{Compiler, Var};
use crate::proto::Constant;
use std::rc::Rc;
use weft_syntax::ast::*;

impl Compiler<'_> {
    pub fn stmt(&mut self, stmt: &Stmt) {
        let span = stmt.span;
        let mark = self.mark();
        match &stmt.kind {
            StmtKind::Let {
                pattern,
                value,
                is_const,
            } => {
                let r = self.alloc();
                match value {
                    Some(value) => self.expr(value, r),
                    None => {
                        self.emit(Op::LoadNil { dst: r }, span);
                    }
                }
                if let PatternKind::Bind(name) = &pattern.kind {
                    self.bind(&name.text, r, *is_const, name.span);
                } else {
                    self.destructure(pattern, r, *is_const);
                }
                if !self.at_module_level() {
                    return; // The registers now belong to the new locals.
                }
            }
            StmtKind::Fn(decl) => {
                let name = decl
                    .name
                    .as_ref()
                    .map_or_else(|| Rc::from("<fn>"), |n| n.text.clone());
                let r = self.alloc();
                let proto = self.function(decl, name.clone(), None);
                self.emit(Op::Closure { dst: r, proto }, span);
                self.assign_declared(&name, r, span);
            }
            StmtKind::Class(class) => {
                let base = self.alloc();
                let count = class.methods.len().min(255) as u8;
                let first = self.alloc_n(count as u16);
                for (i, method) in class.methods.iter().take(255).enumerate() {
                    let method_name = method
                        .name
                        .as_ref()
                        .map_or_else(|| Rc::from("<fn>"), |n| n.text.clone());
                    let full = Rc::from(format!("{}.{}", class.name.text, method_name));
                    let proto = self.function(method, full, Some(method_name));
                    self.emit(
                        Op::Closure {
                            dst: first + i as u8,
                            proto,
                        },
                        method.span,
                    );
                }
                let name = self.f().str_constant(&class.name.text);
                self.emit(
                    Op::NewClass {
                        dst: base,
                        name,
                        count,
                    },
                    span,
                );
                self.assign_declared(&class.name.text, base, span);
            }
            StmtKind::Import { source, alias } => {
                let (key, default_name) = match source {
                    ImportSource::Module(name) => (name.text.clone(), Some(name.text.clone())),
                    ImportSource::File { path, .. } => (path.clone(), None),
                };
                let Some(bound) = alias.as_ref().map(|a| a.text.clone()).or(default_name) else {
                    self.error(span, "file import needs 'as name'");
                    return;
                };
                let r = self.alloc();
                let name = self.f().constant(Constant::Str(key));
                self.emit(Op::Import { dst: r, name }, span);
                self.bind(&bound, r, false, span);
                if !self.at_module_level() {
                    return;
                }
            }
            StmtKind::Expr(expr) => self.expr_stmt(expr),
        }
        self.free_to(mark);
    }

    /// Stores a function or class value into its name: a global at module level, else the hoisted local.
    fn assign_declared(&mut self, name: &Rc<str>, reg: u8, span: weft_syntax::Span) {
        if self.at_module_level() {
            self.bind(name, reg, false, span);
            return;
        }
        match self.resolve(name) {
            Var::Local {
                reg: local,
                in_cell: true,
                ..
            } => {
                self.emit(
                    Op::SetCell {
                        cell: local,
                        src: reg,
                    },
                    span,
                );
            }
            Var::Local { reg: local, .. } => {
                self.emit(
                    Op::Move {
                        dst: local,
                        src: reg,
                    },
                    span,
                );
            }
            _ => self.error(span, format!("internal error: '{name}' was not hoisted")),
        }
    }

    /// An expression evaluated for its effect only.
    pub fn expr_stmt(&mut self, expr: &Expr) {
        let mark = self.mark();
        match &expr.kind {
            ExprKind::If { cond, then, else_ } => self.if_expr(cond, then, else_.as_deref(), None),
            ExprKind::While { cond, body } => self.while_loop(cond, body),
            ExprKind::For {
                pattern,
                iterable,
                body,
            } => self.for_loop(pattern, iterable, body),
            ExprKind::Block(block) => self.block(block, None),
            ExprKind::Try {
                body,
                catches,
                finally,
            } => self.try_expr(body, catches, finally.as_ref(), None, expr.span),
            ExprKind::Match { subject, arms } => self.match_expr(subject, arms, None, expr.span),
            ExprKind::Assign { target, op, value } => self.assign(target, *op, value, expr.span),
            _ => {
                let r = self.alloc();
                self.expr(expr, r);
            }
        }
        self.free_to(mark);
    }
}
