//! Patterns: refutable tests for `match` arms and irrefutable destructuring for `let` and `for`.
//!
//! Every name a pattern binds gets a register before the tests run; binding writes there. Refutable
//! tests jump to the arm's failure label; irrefutable ones raise (`CheckList`, a missing key's KeyError).

use crate::bytecode::{Op, Reg};
use crate::compiler::Compiler;
use crate::proto::Constant;
use std::rc::Rc;
use weft_syntax::ast::*;
use weft_syntax::Span;

impl Compiler<'_> {
    /// `let pattern = R[src]` for a non-trivial pattern: binds every name it contains.
    pub fn destructure(&mut self, pattern: &Pattern, src: Reg, is_const: bool) {
        let (names, targets) = self.binding_registers(pattern);
        let mut fails = Vec::new();
        self.pattern_test(pattern, src, &mut fails, &targets, false);
        if !fails.is_empty() {
            let over = self.emit(Op::Jump { offset: 0 }, pattern.span);
            for jump in fails {
                self.f().patch_to_here(jump);
            }
            self.emit(Op::NoMatch { src }, pattern.span);
            self.f().patch_to_here(over);
        }
        for ((name, reg), (_, span)) in targets.iter().zip(&names) {
            self.bind(name, *reg, is_const, *span);
        }
    }

    /// The names a pattern binds, each with a fresh register the pattern writes it to.
    fn binding_registers(&mut self, pattern: &Pattern) -> (Vec<NameAt>, Vec<(Rc<str>, Reg)>) {
        let names = pattern_names(pattern);
        let first = self.alloc_n(names.len() as u16);
        let targets = names
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.clone(), first + i as Reg))
            .collect();
        (names, targets)
    }

    /// Tests `R[src]` against a `match` pattern, binding its names as locals of the current scope.
    pub fn refutable_pattern(&mut self, pattern: &Pattern, src: Reg, fails: &mut Vec<usize>) {
        let (names, targets) = self.binding_registers(pattern);
        self.pattern_test(pattern, src, fails, &targets, true);
        for ((name, reg), (_, span)) in targets.iter().zip(&names) {
            self.declare_local(name, *reg, false, *span);
        }
    }

    fn pattern_test(
        &mut self,
        pattern: &Pattern,
        src: Reg,
        fails: &mut Vec<usize>,
        targets: &[(Rc<str>, Reg)],
        refutable: bool,
    ) {
        let span = pattern.span;
        let mark = self.mark();
        match &pattern.kind {
            PatternKind::Wildcard => {}
            PatternKind::Bind(name) => {
                let target = targets
                    .iter()
                    .find(|(n, _)| *n == name.text)
                    .map(|(_, r)| *r);
                if let Some(dst) = target {
                    self.move_to(dst, src, span);
                }
            }
            PatternKind::Literal(expr) => {
                let value = self.expr_any(expr);
                let test = self.alloc();
                self.emit(
                    Op::Eq {
                        dst: test,
                        lhs: src,
                        rhs: value,
                    },
                    span,
                );
                fails.push(self.emit(
                    Op::JumpIfFalse {
                        cond: test,
                        offset: 0,
                    },
                    span,
                ));
            }
            PatternKind::List {
                before,
                rest,
                after,
            } => {
                let count = (before.len() + after.len()).min(255) as u8;
                let has_rest = rest.is_some();
                if refutable {
                    fails.push(self.emit(
                        Op::TestList {
                            src,
                            count,
                            rest: has_rest,
                            offset: 0,
                        },
                        span,
                    ));
                } else {
                    self.emit(
                        Op::CheckList {
                            src,
                            count,
                            rest: has_rest,
                        },
                        span,
                    );
                }
                let elem = self.alloc();
                let index = self.alloc();
                let positions = before.iter().enumerate().map(|(i, p)| (i as i64, p));
                let from_back = after
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (i as i64 - after.len() as i64, p));
                for (pos, sub) in positions.chain(from_back) {
                    if matches!(sub.kind, PatternKind::Wildcard) {
                        continue;
                    }
                    self.load_int(pos, index, sub.span);
                    self.emit(
                        Op::GetIndex {
                            dst: elem,
                            obj: src,
                            index,
                        },
                        sub.span,
                    );
                    self.pattern_test(sub, elem, fails, targets, refutable);
                }
                if let Some(Some(name)) = rest {
                    if let Some(dst) = targets
                        .iter()
                        .find(|(n, _)| *n == name.text)
                        .map(|(_, r)| *r)
                    {
                        let from = before.len().min(255) as u8;
                        let from_end = after.len().min(255) as u8;
                        self.emit(
                            Op::SliceRest {
                                dst,
                                src,
                                from,
                                from_end,
                            },
                            name.span,
                        );
                    }
                }
            }
            PatternKind::Map(entries) => {
                let elem = self.alloc();
                let key_reg = self.alloc();
                for (key, sub) in entries {
                    let key = self.f().constant(Constant::Str(key.clone()));
                    if refutable {
                        fails.push(self.emit(
                            Op::TestMapKey {
                                src,
                                key,
                                offset: 0,
                            },
                            sub.span,
                        ));
                    }
                    self.emit(
                        Op::LoadConst {
                            dst: key_reg,
                            idx: key,
                        },
                        sub.span,
                    );
                    self.emit(
                        Op::GetIndex {
                            dst: elem,
                            obj: src,
                            index: key_reg,
                        },
                        sub.span,
                    );
                    self.pattern_test(sub, elem, fails, targets, refutable);
                }
            }
            PatternKind::Or(alternatives) => {
                let mut matched = Vec::new();
                let n = alternatives.len();
                for (i, alt) in alternatives.iter().enumerate() {
                    if i + 1 == n {
                        self.pattern_test(alt, src, fails, targets, refutable);
                    } else {
                        let mut alt_fails = Vec::new();
                        self.pattern_test(alt, src, &mut alt_fails, targets, true);
                        matched.push(self.emit(Op::Jump { offset: 0 }, alt.span));
                        for jump in alt_fails {
                            self.f().patch_to_here(jump);
                        }
                    }
                }
                for jump in matched {
                    self.f().patch_to_here(jump);
                }
            }
        }
        self.free_to(mark);
    }
}

/// A bound name and where it is written.
type NameAt = (Rc<str>, Span);

/// The names a pattern binds, in first-occurrence order.
fn pattern_names(pattern: &Pattern) -> Vec<NameAt> {
    fn walk(p: &Pattern, out: &mut Vec<(Rc<str>, Span)>) {
        let mut add = |name: &Name| {
            if !out.iter().any(|(n, _)| *n == name.text) {
                out.push((name.text.clone(), name.span));
            }
        };
        match &p.kind {
            PatternKind::Wildcard | PatternKind::Literal(_) => {}
            PatternKind::Bind(name) => add(name),
            PatternKind::List {
                before,
                rest,
                after,
            } => {
                if let Some(Some(name)) = rest {
                    add(name);
                }
                before.iter().chain(after).for_each(|sub| walk(sub, out));
            }
            PatternKind::Map(entries) => entries.iter().for_each(|(_, sub)| walk(sub, out)),
            PatternKind::Or(alts) => alts.iter().for_each(|sub| walk(sub, out)),
        }
    }
    let mut out = Vec::new();
    walk(pattern, &mut out);
    out
}
