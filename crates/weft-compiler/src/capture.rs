//! Which local variables of a function must live in cells because a nested function uses them.
//!
//! Closures capture variables by reference, so a captured local is stored in a heap cell from its
//! declaration on. The analysis is deliberately simple and conservative: every identifier named
//! anywhere inside a nested function counts as captured. A local whose name only *looks* captured
//! pays one indirection but stays correct; the precise alternative (a full resolver pass mirroring the
//! compiler's scoping) would duplicate the scoping rules in two places.

use crate::select;
use rustc_hash::FxHashSet;
use std::rc::Rc;
use weft_syntax::ast::*;

/// Names used inside functions nested in `body` (at any depth).
pub(crate) fn names_used_by_nested_fns(params: &[Param], body: &Block) -> FxHashSet<Rc<str>> {
    let mut walker = Walker {
        depth: 0,
        names: FxHashSet::default(),
    };
    for param in params {
        if let Some(default) = &param.default {
            walker.expr(default);
        }
    }
    walker.block(body);
    walker.names
}

struct Walker {
    depth: u32,
    names: FxHashSet<Rc<str>>,
}

impl Walker {
    fn name(&mut self, name: &Rc<str>) {
        if self.depth > 0 {
            self.names.insert(name.clone());
        }
    }

    fn func(&mut self, decl: &FnDecl) {
        self.depth += 1;
        for param in &decl.params {
            if let Some(default) = &param.default {
                self.expr(default);
            }
        }
        self.block(&decl.body);
        self.depth -= 1;
    }

    fn arms(&mut self, arms: &[MatchArm]) {
        for arm in arms {
            self.pattern(&arm.pattern);
            if let Some(g) = &arm.guard {
                self.expr(g);
            }
            self.expr(&arm.body);
        }
    }

    fn block(&mut self, block: &Block) {
        for stmt in &block.stmts {
            self.stmt(stmt);
        }
    }

    fn stmt(&mut self, stmt: &Stmt) {
        match &stmt.kind {
            StmtKind::Let { pattern, value, .. } => {
                self.pattern(pattern);
                if let Some(value) = value {
                    self.expr(value);
                }
            }
            StmtKind::Fn(decl) => {
                if let Some(name) = &decl.name {
                    self.name(&name.text);
                }
                self.func(decl)
            }
            StmtKind::Class(class) => {
                self.name(&class.name.text);
                for method in &class.methods {
                    self.func(method);
                }
            }
            StmtKind::Import { .. } => {}
            StmtKind::Expr(expr) => self.expr(expr),
        }
    }

    fn pattern(&mut self, pattern: &Pattern) {
        match &pattern.kind {
            PatternKind::Wildcard | PatternKind::Literal(_) => {}
            PatternKind::Bind(name) => self.name(&name.text),
            PatternKind::List {
                before,
                rest,
                after,
            } => {
                before.iter().chain(after).for_each(|p| self.pattern(p));
                if let Some(Some(name)) = rest {
                    self.name(&name.text);
                }
            }
            PatternKind::Map(entries) => entries.iter().for_each(|(_, p)| self.pattern(p)),
            PatternKind::Or(alts) => alts.iter().for_each(|p| self.pattern(p)),
        }
    }

    fn expr(&mut self, expr: &Expr) {
        match &expr.kind {
            ExprKind::Nil
            | ExprKind::Bool(_)
            | ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Str(_)
            | ExprKind::Break
            | ExprKind::Continue => {}
            ExprKind::Ident(name) => self.name(name),
            ExprKind::SelfRef => self.name(&Rc::from("self")),
            ExprKind::Interp(parts) => {
                for part in parts {
                    if let InterpPart::Expr(e) = part {
                        self.expr(e);
                    }
                }
            }
            ExprKind::List(items) => {
                for item in items {
                    match item {
                        ListItem::Item(e) | ListItem::Spread(e) => self.expr(e),
                    }
                }
            }
            ExprKind::Map(items) => {
                for item in items {
                    match item {
                        MapItem::Pair { key, value } => {
                            self.expr(key);
                            self.expr(value);
                        }
                        MapItem::Spread(e) => self.expr(e),
                    }
                }
            }
            ExprKind::Range { start, end, .. } => {
                start.iter().chain(end).for_each(|e| self.expr(e));
            }
            ExprKind::Unary { expr, .. } | ExprKind::Throw(expr) | ExprKind::Await(expr) => {
                self.expr(expr)
            }
            // `spawn f(x)` evaluates `f` and `x` in the spawning function; any other spawned
            // expression runs in a closure of its own.
            ExprKind::Spawn { expr, .. } => {
                if crate::spawn::direct_call(expr).is_some() {
                    self.expr(expr);
                } else {
                    self.depth += 1;
                    self.expr(expr);
                    self.depth -= 1;
                }
            }
            ExprKind::Scope { name, body, .. } => {
                if let Some(name) = name {
                    self.name(&name.text);
                }
                self.block(body);
            }
            ExprKind::Select { cases } => {
                for case in cases {
                    if let Some(name) = select::binding(&case.op) {
                        self.name(&name.text);
                    }
                    select::descriptor(&case.op)
                        .1
                        .into_iter()
                        .for_each(|e| self.expr(e));
                    self.expr(&case.body);
                }
            }
            ExprKind::Binary { lhs, rhs, .. } | ExprKind::Logical { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            ExprKind::Assign { target, value, .. } => {
                self.expr(target);
                self.expr(value);
            }
            ExprKind::Call { callee, args } => {
                self.expr(callee);
                for arg in args {
                    match arg {
                        Arg::Positional(e) | Arg::Spread(e) | Arg::Named { value: e, .. } => {
                            self.expr(e)
                        }
                    }
                }
            }
            ExprKind::Field { object, .. } => self.expr(object),
            ExprKind::Index { object, index } => {
                self.expr(object);
                self.expr(index);
            }
            ExprKind::Closure(decl) => self.func(decl),
            ExprKind::Block(block) => self.block(block),
            ExprKind::If { cond, then, else_ } => {
                self.expr(cond);
                self.block(then);
                if let Some(e) = else_ {
                    self.expr(e);
                }
            }
            ExprKind::While { cond, body } => {
                self.expr(cond);
                self.block(body);
            }
            ExprKind::For {
                pattern,
                iterable,
                body,
            } => {
                self.pattern(pattern);
                self.expr(iterable);
                self.block(body);
            }
            ExprKind::Return(value) => {
                if let Some(e) = value {
                    self.expr(e);
                }
            }
            ExprKind::Match { subject, arms } => {
                self.expr(subject);
                self.arms(arms);
            }
            ExprKind::Receive { arms, after } => {
                self.arms(arms);
                if let Some(after) = after {
                    self.expr(&after.0);
                    self.expr(&after.1);
                }
            }
            ExprKind::Try {
                body,
                catches,
                finally,
            } => {
                self.block(body);
                for catch in catches {
                    if let Some(name) = &catch.name {
                        self.name(&name.text);
                    }
                    if let Some(g) = &catch.guard {
                        self.expr(g);
                    }
                    self.block(&catch.body);
                }
                if let Some(f) = finally {
                    self.block(f);
                }
            }
        }
    }
}
