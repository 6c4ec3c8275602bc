//! `receive`: selective receive from the task's mailbox (LANGUAGE.md §7.7).
//!
//! ```text
//! receive { p1 => a, p2 if g => b, after ms => c }
//! ```
//! compiles to a scan of the mailbox from its oldest message:
//! ```text
//!       ReceiveBegin base            // cursor := 0, deadline := now + ms
//! next: ReceiveNext base, msg, →after // msg := mailbox[cursor], or wait; →after at the deadline
//!       <p1 matches msg> ReceiveTake base; a; → end
//!       <p2 matches msg and g> ReceiveTake base; b; → end
//!       cursor += 1; → next           // no clause takes this message: it keeps its place
//! after: c
//! end:
//! ```
//! The cursor survives waiting: messages that arrive are appended, so those already tried are not
//! tried again, and one receive stays linear in the mailbox length.

use crate::bytecode::{Op, Reg};
use crate::compiler::Compiler;
use weft_syntax::ast::{Expr, MatchArm};
use weft_syntax::Span;

impl Compiler<'_> {
    /// `receive { arms, after ms => body }` into `R[dst]`.
    pub(crate) fn receive_expr(
        &mut self,
        arms: &[MatchArm],
        after: Option<&(Expr, Expr)>,
        dst: Reg,
        span: Span,
    ) {
        let mark = self.mark();
        let base = self.alloc_n(3);
        let msg = self.alloc();
        if let Some((ms, _)) = after {
            self.expr(ms, base + 1);
        }
        self.emit(
            Op::ReceiveBegin {
                base,
                has_after: after.is_some(),
            },
            span,
        );
        let top = self.f().here();
        let next = self.emit(
            Op::ReceiveNext {
                base,
                dst: msg,
                offset: 0,
            },
            span,
        );
        let mut end_jumps = Vec::new();
        for arm in arms {
            self.f().begin_scope();
            let mut fails = Vec::new();
            self.refutable_pattern(&arm.pattern, msg, &mut fails);
            if let Some(guard) = &arm.guard {
                fails.push(self.jump_if_false(guard));
            }
            self.emit(Op::ReceiveTake { base }, arm.span);
            self.expr(&arm.body, dst);
            self.f().end_scope();
            end_jumps.push(self.emit(Op::Jump { offset: 0 }, arm.span));
            for jump in fails {
                self.f().patch_to_here(jump);
            }
        }
        self.emit(
            Op::AddInt {
                dst: base,
                src: base,
                imm: 1,
            },
            span,
        );
        self.f().jump_back(top, span);
        self.f().patch_to_here(next);
        match after {
            Some((_, body)) => self.expr(body, dst),
            None => {
                self.emit(Op::LoadNil { dst }, span);
            }
        }
        for jump in end_jumps {
            self.f().patch_to_here(jump);
        }
        self.free_to(mark);
    }
}
