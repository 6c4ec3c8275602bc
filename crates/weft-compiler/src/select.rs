//! `select`: lowered to one call of the runtime builtin `__select` and a dispatch on its answer.
//!
//! ```text
//! select { v = ch.recv() => a, out.send(x) => b, after 100 => c }
//! ```
//! compiles as if it were
//! ```text
//! {
//!     let r = __select([[0, ch], [1, out, x], [3, 100]])
//!     let i = r[0]
//!     if i == 0 { let v = r[1]; a } else if i == 1 { b } else if i == 2 { c } else { NoMatch i }
//! }
//! ```
//! with `r` and `i` in unnamed registers. The operands are evaluated once, in source order, while the
//! descriptor list is built. `__select` is an ordinary global name, resolved as if `__select(cases)`
//! were written in the source.
//!
//! # The `__select` protocol
//! The argument is a list with one descriptor list per case, in source order:
//!
//! | case               | descriptor       |
//! |--------------------|------------------|
//! | `ch.recv()`        | `[0, ch]`        |
//! | `ch.send(v)`       | `[1, ch, v]`     |
//! | `await t`          | `[2, t]`         |
//! | `after ms`         | `[3, ms]`        |
//! | `default`          | `[4]`            |
//! | `ch.recv_ok()`     | `[5, ch]`        |
//!
//! `__select` commits exactly one case and returns `[index, value]`: the 0-based index of that case
//! and its value (the message for `recv`, `[v, ok]` for `recv_ok`, the task's result for `await`, nil
//! otherwise). The case's binding, if any, is bound to `value` in a new scope around its body.

use crate::bytecode::{Op, Reg};
use crate::compiler::Compiler;
use weft_syntax::ast::{Arg, Expr, ExprKind, ListItem, Name, SelectCase, SelectOp};
use weft_syntax::Span;

/// The global the runtime defines to perform a select.
const SELECT_BUILTIN: &str = "__select";

/// Descriptor tags of the `__select` protocol (see the module docs).
const TAG_RECV: i64 = 0;
const TAG_SEND: i64 = 1;
const TAG_AWAIT: i64 = 2;
const TAG_AFTER: i64 = 3;
const TAG_DEFAULT: i64 = 4;
const TAG_RECV_OK: i64 = 5;

/// The name a case binds to its value: only `recv`, `recv_ok` and `await` cases have one.
pub(crate) fn binding(op: &SelectOp) -> Option<&Name> {
    match op {
        SelectOp::Recv { binding, .. } | SelectOp::Await { binding, .. } => binding.as_ref(),
        SelectOp::Send { .. } | SelectOp::After { .. } | SelectOp::Default => None,
    }
}

/// A case's descriptor tag and its operand expressions, in evaluation order.
pub(crate) fn descriptor(op: &SelectOp) -> (i64, Vec<&Expr>) {
    match op {
        SelectOp::Recv {
            channel, ok: false, ..
        } => (TAG_RECV, vec![channel]),
        SelectOp::Recv {
            channel, ok: true, ..
        } => (TAG_RECV_OK, vec![channel]),
        SelectOp::Send { channel, value } => (TAG_SEND, vec![channel, value]),
        SelectOp::Await { task, .. } => (TAG_AWAIT, vec![task]),
        SelectOp::After { ms } => (TAG_AFTER, vec![ms]),
        SelectOp::Default => (TAG_DEFAULT, Vec::new()),
    }
}

/// The expression `__select([descriptor, ...])` for `cases`.
fn select_call(cases: &[SelectCase], span: Span) -> Expr {
    let descriptors = cases
        .iter()
        .map(|case| {
            let (tag, operands) = descriptor(&case.op);
            let tag = Expr {
                kind: ExprKind::Int(tag),
                span: case.span,
            };
            let items = std::iter::once(tag)
                .chain(operands.into_iter().cloned())
                .map(ListItem::Item)
                .collect();
            ListItem::Item(Expr {
                kind: ExprKind::List(items),
                span: case.span,
            })
        })
        .collect();
    let list = Expr {
        kind: ExprKind::List(descriptors),
        span,
    };
    let callee = Expr {
        kind: ExprKind::Ident(SELECT_BUILTIN.into()),
        span,
    };
    Expr {
        kind: ExprKind::Call {
            callee: Box::new(callee),
            args: vec![Arg::Positional(list)],
        },
        span,
    }
}

impl Compiler<'_> {
    /// Compiles a `select`; the chosen body's value goes to `dst` when given.
    pub fn select_expr(&mut self, cases: &[SelectCase], dst: Option<Reg>, span: Span) {
        let mark = self.mark();
        let result = self.alloc();
        self.expr(&select_call(cases, span), result);
        let index = self.alloc();
        let key = self.alloc();
        self.load_int(0, key, span);
        self.emit(
            Op::GetIndex {
                dst: index,
                obj: result,
                index: key,
            },
            span,
        );
        let mut end_jumps = Vec::new();
        for (i, case) in cases.iter().enumerate() {
            self.load_int(i as i64, key, case.span);
            self.emit(
                Op::Eq {
                    dst: key,
                    lhs: index,
                    rhs: key,
                },
                case.span,
            );
            let next = self.emit(
                Op::JumpIfFalse {
                    cond: key,
                    offset: 0,
                },
                case.span,
            );
            self.f().begin_scope();
            if let Some(name) = binding(&case.op) {
                let value = self.alloc();
                self.load_int(1, key, name.span);
                self.emit(
                    Op::GetIndex {
                        dst: value,
                        obj: result,
                        index: key,
                    },
                    name.span,
                );
                self.declare_local(&name.text, value, false, name.span);
            }
            match dst {
                Some(dst) => self.expr(&case.body, dst),
                None => self.expr_stmt(&case.body),
            }
            self.f().end_scope();
            end_jumps.push(self.emit(Op::Jump { offset: 0 }, case.span));
            self.f().patch_to_here(next);
        }
        // Unreachable unless `__select` answers with an index that is not a case.
        self.emit(Op::NoMatch { src: index }, span);
        for jump in end_jumps {
            self.f().patch_to_here(jump);
        }
        self.free_to(mark);
    }
}

#[cfg(test)]
mod tests {
    use crate::{compile_module, ModuleScope, Op, Proto};
    use std::rc::Rc;
    use weft_syntax::SourceFile;

    fn compile(source: &str) -> Rc<Proto> {
        let (program, diagnostics) = weft_syntax::parse(source);
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        let file = SourceFile::new("test.weft", source);
        let mut module = ModuleScope::default();
        compile_module(&program, file, &mut module, false)
            .unwrap_or_else(|d| panic!("compile errors: {d:#?}"))
    }

    /// One instruction per line, with jump targets as absolute instruction numbers.
    fn listing(proto: &Proto) -> String {
        let mut out = String::new();
        for (pc, op) in proto.code.iter().enumerate() {
            out += &format!("{pc}: {op}");
            if let Op::Jump { offset } | Op::JumpIfFalse { offset, .. } = op {
                out += &format!("  -> {}", pc as i32 + 1 + offset);
            }
            out += "\n";
        }
        out
    }

    /// The small integers loaded before the first call: the descriptor tags when every operand is a
    /// variable.
    fn tags_before_call(proto: &Proto) -> Vec<i32> {
        proto
            .code
            .iter()
            .take_while(|op| !matches!(op, Op::Call { .. }))
            .filter_map(|op| match op {
                Op::LoadInt { value, .. } => Some(*value),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn select_is_a_call_of_select_builtin_then_a_dispatch_on_the_index() {
        let source = "let ch = 1\nlet r = select {\n  v = ch.recv() => v\n  ch.send(2) => 3\n  after 4 => 5\n}\n";
        let proto = compile(source);
        // Globals: ch = 0, __select = 1, r = 2. R2 = __select, then its result; R3 = the index.
        let expected = "\
0: LoadInt dst=1 value=1
1: SetGlobal src=1 slot=0
2: GetGlobal dst=2 slot=1
3: LoadInt dst=5 value=0
4: GetGlobal dst=6 slot=0
5: NewList dst=4 start=5 count=2
6: LoadInt dst=6 value=1
7: GetGlobal dst=7 slot=0
8: LoadInt dst=8 value=2
9: NewList dst=5 start=6 count=3
10: LoadInt dst=7 value=3
11: LoadInt dst=8 value=4
12: NewList dst=6 start=7 count=2
13: NewList dst=3 start=4 count=3
14: Call func=2 argc=1
15: LoadInt dst=4 value=0
16: GetIndex dst=3 obj=2 index=4
17: LoadInt dst=4 value=0
18: Eq dst=4 lhs=3 rhs=4
19: JumpIfFalse cond=4 offset=4  -> 24
20: LoadInt dst=4 value=1
21: GetIndex dst=5 obj=2 index=4
22: Move dst=1 src=5
23: Jump offset=11  -> 35
24: LoadInt dst=4 value=1
25: Eq dst=4 lhs=3 rhs=4
26: JumpIfFalse cond=4 offset=2  -> 29
27: LoadInt dst=1 value=3
28: Jump offset=6  -> 35
29: LoadInt dst=4 value=2
30: Eq dst=4 lhs=3 rhs=4
31: JumpIfFalse cond=4 offset=2  -> 34
32: LoadInt dst=1 value=5
33: Jump offset=1  -> 35
34: NoMatch src=3
35: SetGlobal src=1 slot=2
36: ReturnNil
37: Return src=1
";
        assert_eq!(listing(&proto), expected);
    }

    #[test]
    fn bindings_are_scoped_to_their_case_and_captured_ones_live_in_cells() {
        let source = "fn f(ch, t) {\n  select {\n    v = ch.recv_ok() => || v\n    w = await t => w\n    default => nil\n  }\n  v\n}\n";
        let proto = compile(source);
        let f = &proto.protos[0];
        // recv_ok, await and default descriptors: `[5, ch]`, `[2, t]`, `[4]`.
        assert_eq!(tags_before_call(f), [5, 2, 4], "{}", listing(f));
        // `v` is used by the closure, so its binding is a cell; `w` is not.
        let cells = f
            .code
            .iter()
            .filter(|op| matches!(op, Op::NewCell { .. }))
            .count();
        assert_eq!(cells, 1, "{}", listing(f));
        // After the select, `v` is no longer a local: the function's value is read as a global.
        let n = f.code.len();
        assert!(
            matches!(f.code[n - 2], Op::GetGlobal { .. }),
            "{}",
            listing(f)
        );
    }

    #[test]
    fn operands_are_evaluated_in_source_order_and_bodies_may_leave_loops() {
        let source = "fn f(ch, out) {\n  while true {\n    select { x = ch.recv() => { if x { break } }, out.send(ch) => continue, default => { return 1 } }\n  }\n}\n";
        let proto = compile(source);
        let f = &proto.protos[0];
        assert_eq!(tags_before_call(f), [0, 1, 4], "{}", listing(f));
        let sources: Vec<u8> = f
            .code
            .iter()
            .take_while(|op| !matches!(op, Op::Call { .. }))
            .filter_map(|op| match op {
                Op::Move { src, .. } => Some(*src),
                _ => None,
            })
            .collect();
        // ch (R1), then out (R2), then ch (R1) again.
        assert_eq!(sources, [1, 2, 1], "{}", listing(f));
        assert!(f.code.iter().any(|op| matches!(op, Op::NoMatch { .. })));
    }
}
