//! Expressions: literals, variables, operators, calls, fields, indexing, literals of lists and maps.

use crate::bytecode::{Op, Reg};
use crate::compiler::{Compiler, Var};
use crate::proto::Constant;
use std::rc::Rc;
use weft_syntax::ast::*;
use weft_syntax::Span;

impl Compiler<'_> {
    /// Compiles `expr` so that its value ends up in `dst`.
    pub fn expr(&mut self, expr: &Expr, dst: Reg) {
        let span = expr.span;
        let mark = self.mark();
        match &expr.kind {
            ExprKind::Nil => {
                self.emit(Op::LoadNil { dst }, span);
            }
            ExprKind::Bool(value) => {
                self.emit(Op::LoadBool { dst, value: *value }, span);
            }
            ExprKind::Int(value) => self.load_int(*value, dst, span),
            ExprKind::Float(value) => {
                let idx = self.f().constant(Constant::Float(*value));
                self.emit(Op::LoadConst { dst, idx }, span);
            }
            ExprKind::Str(text) => {
                let idx = self.f().str_constant(text);
                self.emit(Op::LoadConst { dst, idx }, span);
            }
            ExprKind::Interp(parts) => self.interp(parts, dst, span),
            ExprKind::Ident(name) => self.load_var(name, dst, span),
            ExprKind::SelfRef => {
                if self.f().find_local("self").is_none() && !self.fns.iter().any(|f| f.is_method) {
                    self.error(span, "'self' can only be used inside a method");
                    return;
                }
                self.load_var(&Rc::from("self"), dst, span);
            }
            ExprKind::List(items) => self.list(items, dst, span),
            ExprKind::Map(items) => self.map(items, dst, span),
            ExprKind::Range {
                start,
                end,
                inclusive,
            } => {
                let r = self.consecutive(&[start, end], |c, bound, r| {
                    c.opt_expr(bound.as_deref(), r, span)
                });
                self.emit(
                    Op::NewRange {
                        dst: r,
                        inclusive: *inclusive,
                    },
                    span,
                );
                self.move_to(dst, r, span);
            }
            ExprKind::Unary { op, expr: operand } => {
                let src = self.expr_any(operand);
                let op = match op {
                    UnaryOp::Neg => Op::Neg { dst, src },
                    UnaryOp::Not => Op::Not { dst, src },
                };
                self.emit(op, span);
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, dst, span),
            ExprKind::Logical { op, lhs, rhs } => {
                self.expr(lhs, dst);
                let jump = match op {
                    LogicalOp::And => self.emit(
                        Op::JumpIfFalse {
                            cond: dst,
                            offset: 0,
                        },
                        span,
                    ),
                    LogicalOp::Or => self.emit(
                        Op::JumpIfTrue {
                            cond: dst,
                            offset: 0,
                        },
                        span,
                    ),
                };
                self.expr(rhs, dst);
                self.f().patch_to_here(jump);
            }
            ExprKind::Assign { target, op, value } => {
                self.assign(target, *op, value, span);
                self.emit(Op::LoadNil { dst }, span);
            }
            ExprKind::Call { callee, args } => self.call(callee, args, dst, span),
            ExprKind::Field { object, name } => {
                let obj = self.expr_any(object);
                let name = self.f().str_constant(&name.text);
                self.emit(Op::GetField { dst, obj, name }, span);
            }
            ExprKind::Index { object, index } => {
                let obj = self.expr_any(object);
                // `pair[0]`: the index is an operand, not a register loaded first (with list
                // indexing inline in the VM: binary_trees 12, 1.23G -> 1.13G instructions).
                let op = match index.kind {
                    ExprKind::Int(n @ 0..=255) => Op::GetIndexInt {
                        dst,
                        obj,
                        index: n as u8,
                    },
                    _ => Op::GetIndex {
                        dst,
                        obj,
                        index: self.expr_any(index),
                    },
                };
                self.emit(op, span);
            }
            ExprKind::Closure(decl) => {
                let proto = self.function(decl, Rc::from("<closure>"), None);
                self.emit(Op::Closure { dst, proto }, span);
            }
            ExprKind::Block(block) => self.block(block, Some(dst)),
            ExprKind::If { cond, then, else_ } => {
                self.if_expr(cond, then, else_.as_deref(), Some(dst))
            }
            ExprKind::While { cond, body } => {
                self.while_loop(cond, body);
                self.emit(Op::LoadNil { dst }, span);
            }
            ExprKind::For {
                pattern,
                iterable,
                body,
            } => {
                self.for_loop(pattern, iterable, body);
                self.emit(Op::LoadNil { dst }, span);
            }
            ExprKind::Break => self.break_loop(span),
            ExprKind::Continue => self.continue_loop(span),
            ExprKind::Return(value) => self.return_expr(value.as_deref(), span),
            ExprKind::Throw(value) => {
                let src = self.expr_any(value);
                self.emit(Op::Throw { src }, span);
            }
            ExprKind::Match { subject, arms } => self.match_expr(subject, arms, Some(dst), span),
            ExprKind::Try {
                body,
                catches,
                finally,
            } => self.try_expr(body, catches, finally.as_ref(), Some(dst), span),
            ExprKind::Spawn { kind, expr } => self.spawn_expr(*kind, expr, dst, span),
            ExprKind::Scope { kind, name, body } => {
                self.scope_expr(*kind, name.as_ref(), body, dst, span)
            }
            ExprKind::Select { cases } => self.select_expr(cases, Some(dst), span),
            ExprKind::Receive { arms, after } => {
                self.receive_expr(arms, after.as_deref(), dst, span)
            }
            ExprKind::Await(value) => {
                let src = self.expr_any(value);
                self.emit(Op::Await { dst, src }, span);
            }
        }
        self.free_to(mark);
    }

    /// Compiles `expr` into some register and returns it: a plain local's own register, or a new temporary.
    pub fn expr_any(&mut self, expr: &Expr) -> Reg {
        // A plain local (or `self` in a method, `R[0]`) is used where it is, without a copy:
        // `self.n = self.n + x` is then 3 instructions instead of 5.
        let local = match &expr.kind {
            ExprKind::Ident(name) => self.f().find_local(name),
            ExprKind::SelfRef => self.f().find_local("self"),
            _ => None,
        };
        if let Some(local) = local.filter(|l| !l.in_cell) {
            return local.reg;
        }
        let r = self.alloc();
        self.expr(expr, r);
        r
    }

    fn opt_expr(&mut self, expr: Option<&Expr>, dst: Reg, span: Span) {
        match expr {
            Some(e) => self.expr(e, dst),
            None => {
                self.emit(Op::LoadNil { dst }, span);
            }
        }
    }

    pub fn move_to(&mut self, dst: Reg, src: Reg, span: Span) {
        if dst != src {
            self.emit(Op::Move { dst, src }, span);
        }
    }

    pub fn load_int(&mut self, value: i64, dst: Reg, span: Span) {
        match i32::try_from(value) {
            Ok(value) => {
                self.emit(Op::LoadInt { dst, value }, span);
            }
            Err(_) => {
                let idx = self.f().constant(Constant::Int(value));
                self.emit(Op::LoadConst { dst, idx }, span);
            }
        }
    }

    pub fn load_var(&mut self, name: &Rc<str>, dst: Reg, span: Span) {
        match self.resolve(name) {
            Var::Local {
                reg,
                in_cell: false,
                ..
            } => self.move_to(dst, reg, span),
            Var::Local {
                reg, in_cell: true, ..
            } => {
                self.emit(Op::GetCell { dst, cell: reg }, span);
            }
            Var::Upval { idx, .. } => {
                self.emit(Op::GetUpval { dst, idx }, span);
            }
            Var::Global { slot } => {
                self.emit(Op::GetGlobal { dst, slot }, span);
            }
        }
    }

    /// Stores `src` into the variable `name`, rejecting constants.
    pub fn store_var(&mut self, name: &Rc<str>, src: Reg, span: Span) {
        match self.resolve(name) {
            Var::Local { is_const: true, .. } | Var::Upval { is_const: true, .. } => {
                self.error(span, format!("cannot assign to constant '{name}'"));
            }
            Var::Local {
                reg,
                in_cell: false,
                ..
            } => self.move_to(reg, src, span),
            Var::Local {
                reg, in_cell: true, ..
            } => {
                self.emit(Op::SetCell { cell: reg, src }, span);
            }
            Var::Upval { idx, .. } => {
                self.emit(Op::SetUpval { idx, src }, span);
            }
            Var::Global { slot } => {
                if self.module.is_const[slot as usize] {
                    self.error(span, format!("cannot assign to constant '{name}'"));
                }
                self.emit(Op::AssignGlobal { src, slot }, span);
            }
        }
    }

    fn interp(&mut self, parts: &[InterpPart], dst: Reg, span: Span) {
        if parts.len() > 255 {
            self.error(span, "too many parts in an interpolated string");
            return;
        }
        let start = self.consecutive(parts, |c, part, r| match part {
            InterpPart::Lit(text) => {
                let idx = c.f().str_constant(text);
                c.emit(Op::LoadConst { dst: r, idx }, span);
            }
            InterpPart::Expr(e) => c.expr(e, r),
        });
        self.emit(
            Op::Concat {
                dst,
                start,
                count: parts.len() as u8,
            },
            span,
        );
    }

    fn list(&mut self, items: &[ListItem], dst: Reg, span: Span) {
        let simple = items.len() <= 64 && items.iter().all(|i| matches!(i, ListItem::Item(_)));
        if simple {
            let start = self.consecutive(items, |c, item, r| {
                if let ListItem::Item(e) = item {
                    c.expr(e, r);
                }
            });
            self.emit(
                Op::NewList {
                    dst,
                    start,
                    count: items.len() as u8,
                },
                span,
            );
            return;
        }
        let list = self.alloc();
        self.emit(
            Op::NewList {
                dst: list,
                start: list,
                count: 0,
            },
            span,
        );
        for item in items {
            let mark = self.mark();
            match item {
                ListItem::Item(e) => self.append_to_list(list, e, false),
                ListItem::Spread(e) => self.append_to_list(list, e, true),
            }
            self.free_to(mark);
        }
        self.move_to(dst, list, span);
    }

    fn map(&mut self, items: &[MapItem], dst: Reg, span: Span) {
        let map = self.alloc();
        self.emit(Op::NewMap { dst: map }, span);
        for item in items {
            let mark = self.mark();
            match item {
                MapItem::Pair { key, value } => {
                    let key_reg = self.expr_any(key);
                    let value_reg = self.expr_any(value);
                    self.emit(
                        Op::MapInsert {
                            map,
                            key: key_reg,
                            value: value_reg,
                        },
                        key.span,
                    );
                }
                MapItem::Spread(e) => {
                    let src = self.expr_any(e);
                    self.emit(Op::MapExtend { map, src }, e.span);
                }
            }
            self.free_to(mark);
        }
        self.move_to(dst, map, span);
    }

    fn binary(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr, dst: Reg, span: Span) {
        if let Some((imm, make)) = immediate_form(op, &rhs.kind) {
            let src = self.expr_any(lhs);
            self.emit(make(dst, src, imm), span);
            return;
        }
        let lhs = self.expr_any(lhs);
        let rhs = self.expr_any(rhs);
        self.emit(binary_instr(op, dst, lhs, rhs), span);
    }

    /// `target = value` and compound assignments.
    pub fn assign(&mut self, target: &Expr, op: Option<BinOp>, value: &Expr, span: Span) {
        let mark = self.mark();
        match &target.kind {
            ExprKind::Ident(name) => {
                let r = match (op, self.resolve(name)) {
                    // Writing straight into a plain local is safe for expressions that read all their
                    // operands before their single final write.
                    (
                        None,
                        Var::Local {
                            reg,
                            in_cell: false,
                            is_const: false,
                        },
                    ) if writes_last(value) => reg,
                    _ => self.alloc(),
                };
                match op {
                    None => self.expr(value, r),
                    Some(op) => {
                        let binary = Expr {
                            kind: ExprKind::Binary {
                                op,
                                lhs: Box::new(target.clone()),
                                rhs: Box::new(value.clone()),
                            },
                            span,
                        };
                        self.expr(&binary, r);
                    }
                }
                self.store_var(name, r, target.span);
            }
            ExprKind::Field { .. } | ExprKind::Index { .. } => {
                // Evaluate the place once, then read it (compound only), compute, and write it back.
                let src = self.alloc();
                let (load, store) = match &target.kind {
                    ExprKind::Field { object, name } => {
                        let obj = self.expr_any(object);
                        let name = self.f().str_constant(&name.text);
                        (
                            Op::GetField {
                                dst: src,
                                obj,
                                name,
                            },
                            Op::SetField { obj, name, src },
                        )
                    }
                    ExprKind::Index { object, index } => {
                        let obj = self.expr_any(object);
                        let index = self.expr_any(index);
                        (
                            Op::GetIndex {
                                dst: src,
                                obj,
                                index,
                            },
                            Op::SetIndex { obj, index, src },
                        )
                    }
                    _ => unreachable!("matched a field or index target"),
                };
                match op {
                    Some(op) => {
                        self.emit(load, span);
                        self.compound(op, src, value, span);
                    }
                    None => self.expr(value, src),
                }
                self.emit(store, span);
            }
            _ => self.error(target.span, "invalid assignment target"),
        }
        self.free_to(mark);
    }

    /// `R[acc] := R[acc] op value`.
    fn compound(&mut self, op: BinOp, acc: Reg, value: &Expr, span: Span) {
        let rhs = self.expr_any(value);
        self.emit(binary_instr(op, acc, acc, rhs), span);
    }

    fn call(&mut self, callee: &Expr, args: &[Arg], dst: Reg, span: Span) {
        let simple = args.len() <= 250 && args.iter().all(|a| matches!(a, Arg::Positional(_)));
        // When `dst` is the topmost register the call can be laid out from it, saving a `Move`.
        let base = if dst as u16 + 1 == self.mark() {
            dst
        } else {
            self.alloc()
        };
        let method = match &callee.kind {
            ExprKind::Field { object, name } => {
                self.expr(object, base);
                Some(self.f().str_constant(&name.text))
            }
            _ => {
                self.expr(callee, base);
                None
            }
        };
        if simple {
            self.positional_args(args);
            let argc = args.len() as u8;
            match method {
                Some(name) => self.emit(Op::CallMethod { base, name, argc }, span),
                None => self.emit(Op::Call { func: base, argc }, span),
            };
        } else {
            self.call_args_ex(args, span);
            match method {
                Some(name) => self.emit(Op::CallMethodEx { base, name }, span),
                None => self.emit(Op::CallEx { func: base }, span),
            };
        }
        self.move_to(dst, base, span);
    }

    /// Compiles each of `items` into the next new register, in order, and returns the first.
    /// Each register is taken just before its item is compiled, so it is the topmost one then
    /// and a call there is laid out from it without a `Move` (`[make(d - 1), make(d - 1)]` had
    /// its first call made two registers up and moved down; callgrind, binary_trees depth 12:
    /// see `docs/performance.md`).
    pub fn consecutive<T>(
        &mut self,
        items: &[T],
        mut compile: impl FnMut(&mut Self, &T, Reg),
    ) -> Reg {
        let start = self.mark() as Reg;
        for item in items {
            let r = self.alloc();
            compile(self, item, r);
        }
        start
    }

    /// Compiles the arguments of a call that has only positional ones into the registers after
    /// its callee.
    pub fn positional_args(&mut self, args: &[Arg]) {
        self.consecutive(args, |c, arg, r| {
            if let Arg::Positional(e) = arg {
                c.expr(e, r);
            }
        });
    }

    /// `R[list].push(e)`, or every element of `e` when `spread` (`[..e]`, `f(..e)`).
    fn append_to_list(&mut self, list: Reg, e: &Expr, spread: bool) {
        let src = self.expr_any(e);
        let op = if spread {
            Op::ListExtend { list, src }
        } else {
            Op::ListPush { list, src }
        };
        self.emit(op, e.span);
    }

    /// Builds the positional list in the next register and the named-argument map (or nil) after it.
    fn call_args_ex(&mut self, args: &[Arg], span: Span) {
        let list = self.alloc();
        let named = self.alloc();
        self.emit(
            Op::NewList {
                dst: list,
                start: list,
                count: 0,
            },
            span,
        );
        self.emit(Op::LoadNil { dst: named }, span);
        let mut has_named = false;
        for arg in args {
            let mark = self.mark();
            match arg {
                Arg::Positional(e) => self.append_to_list(list, e, false),
                Arg::Spread(e) => self.append_to_list(list, e, true),
                Arg::Named { name, value } => {
                    if !has_named {
                        self.emit(Op::NewMap { dst: named }, name.span);
                        has_named = true;
                    }
                    let key = self.alloc();
                    let idx = self.f().str_constant(&name.text);
                    self.emit(Op::LoadConst { dst: key, idx }, name.span);
                    let src = self.expr_any(value);
                    self.emit(
                        Op::MapInsert {
                            map: named,
                            key,
                            value: src,
                        },
                        value.span,
                    );
                }
            }
            self.free_to(mark);
        }
    }
}

/// Expressions whose code reads every operand before one final write of the result, so they may be
/// compiled straight into the register of the variable being assigned.
fn writes_last(expr: &Expr) -> bool {
    matches!(
        expr.kind,
        ExprKind::Nil
            | ExprKind::Bool(_)
            | ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Str(_)
            | ExprKind::Ident(_)
            | ExprKind::Binary { .. }
            | ExprKind::Unary { .. }
            | ExprKind::Field { .. }
            | ExprKind::Index { .. }
    )
}

/// The instruction computing `R[dst] := R[lhs] op R[rhs]`.
fn binary_instr(op: BinOp, dst: Reg, lhs: Reg, rhs: Reg) -> Op {
    match op {
        BinOp::Add => Op::Add { dst, lhs, rhs },
        BinOp::Sub => Op::Sub { dst, lhs, rhs },
        BinOp::Mul => Op::Mul { dst, lhs, rhs },
        BinOp::Div => Op::Div { dst, lhs, rhs },
        BinOp::FloorDiv => Op::FloorDiv { dst, lhs, rhs },
        BinOp::Mod => Op::Mod { dst, lhs, rhs },
        BinOp::Pow => Op::Pow { dst, lhs, rhs },
        BinOp::Eq => Op::Eq { dst, lhs, rhs },
        BinOp::Ne => Op::Ne { dst, lhs, rhs },
        BinOp::Lt => Op::Lt { dst, lhs, rhs },
        BinOp::Le => Op::Le { dst, lhs, rhs },
        BinOp::Gt => Op::Gt { dst, lhs, rhs },
        BinOp::Ge => Op::Ge { dst, lhs, rhs },
    }
}

/// Builds an instruction with an immediate operand: `(dst, src, imm)`.
type ImmediateOp = fn(Reg, Reg, i32) -> Op;

/// The instruction for `lhs op n` when `n` is an int literal that fits an immediate operand: one
/// instruction instead of a `LoadInt` and the general one (the loop benchmark's 7 instructions an
/// iteration become 5). Division by a literal 0 keeps the general form, which raises.
fn immediate_form(op: BinOp, rhs: &ExprKind) -> Option<(i32, ImmediateOp)> {
    let ExprKind::Int(n) = *rhs else {
        return None;
    };
    let (value, make): (Option<i64>, ImmediateOp) = match op {
        BinOp::Add => (Some(n), |dst, src, imm| Op::AddInt { dst, src, imm }),
        BinOp::Sub => (n.checked_neg(), |dst, src, imm| Op::AddInt {
            dst,
            src,
            imm,
        }),
        BinOp::Mul => (Some(n), |dst, src, imm| Op::MulInt { dst, src, imm }),
        BinOp::Mod if n != 0 => (Some(n), |dst, src, imm| Op::ModInt { dst, src, imm }),
        BinOp::FloorDiv if n != 0 => (Some(n), |dst, src, imm| Op::FloorDivInt { dst, src, imm }),
        _ => return None,
    };
    Some((i32::try_from(value?).ok()?, make))
}
