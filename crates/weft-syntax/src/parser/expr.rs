//! Expression parsing: a Pratt loop over binding powers, plus one function per prefix form.
//!
//! Precedence, lowest first (binding powers below): assignment (right associative), `or`, `and`,
//! prefix `not`, comparisons, ranges (non-associative), `+ -`, `* / // %`, prefix `-` (and `spawn`,
//! `spawn_detached`, `spawn_link`, `await`), `**` (right associative; its right operand is a unary
//! expression, so `2 ** -1` works and `-2 ** 2` is `-(2 ** 2)`), then postfix calls, fields and
//! indexing.

use super::{PResult, Parser};
use crate::ast::{
    Arg, BinOp, Block, CatchClause, Expr, ExprKind, FnDecl, InterpPart, ListItem, LogicalOp,
};
use crate::ast::{MapItem, MatchArm, Name, ScopeKind, SelectCase, SelectOp, SpawnKind};
use crate::ast::{Stmt, StmtKind, UnaryOp};
use crate::span::Span;
use crate::token::TokenKind;
use std::rc::Rc;

/// Left binding power of assignment; its right side is parsed at `ASSIGN_BP - 1` (right associative).
const ASSIGN_BP: u8 = 2;
/// `or`; also the level of parameter defaults, which may not contain an assignment.
pub(super) const OR_BP: u8 = 3;
const AND_BP: u8 = 5;
/// Comparisons; also the operand level of prefix `not`, so `not a == b` is `not (a == b)`.
const CMP_BP: u8 = 9;
const RANGE_BP: u8 = 11;
const ADD_BP: u8 = 13;
const MUL_BP: u8 = 15;
/// The operand level of prefix `-`, the three `spawn` keywords and `await`, and of the right side
/// of `**`.
const UNARY_BP: u8 = 17;
const POW_BP: u8 = 19;
const POSTFIX_BP: u8 = 21;

/// What an infix or postfix token does.
#[derive(Clone, Copy)]
enum Infix {
    Assign(Option<BinOp>),
    Logical(LogicalOp),
    Binary(BinOp),
    Range { inclusive: bool },
    Call,
    Field,
    Index,
}

/// The infix meaning of a token with its left and right binding powers.
fn infix_of(kind: &TokenKind) -> Option<(Infix, u8, u8)> {
    use TokenKind as T;
    let binary = |op, bp| Some((Infix::Binary(op), bp, bp + 1));
    let assign = |op| Some((Infix::Assign(op), ASSIGN_BP, ASSIGN_BP - 1));
    match kind {
        T::Eq => assign(None),
        T::PlusEq => assign(Some(BinOp::Add)),
        T::MinusEq => assign(Some(BinOp::Sub)),
        T::StarEq => assign(Some(BinOp::Mul)),
        T::SlashEq => assign(Some(BinOp::Div)),
        T::SlashSlashEq => assign(Some(BinOp::FloorDiv)),
        T::PercentEq => assign(Some(BinOp::Mod)),
        T::StarStarEq => assign(Some(BinOp::Pow)),
        T::Or => Some((Infix::Logical(LogicalOp::Or), OR_BP, OR_BP + 1)),
        T::And => Some((Infix::Logical(LogicalOp::And), AND_BP, AND_BP + 1)),
        T::EqEq => binary(BinOp::Eq, CMP_BP),
        T::NotEq => binary(BinOp::Ne, CMP_BP),
        T::Lt => binary(BinOp::Lt, CMP_BP),
        T::Le => binary(BinOp::Le, CMP_BP),
        T::Gt => binary(BinOp::Gt, CMP_BP),
        T::Ge => binary(BinOp::Ge, CMP_BP),
        T::DotDot => Some((Infix::Range { inclusive: false }, RANGE_BP, RANGE_BP + 1)),
        T::DotDotEq => Some((Infix::Range { inclusive: true }, RANGE_BP, RANGE_BP + 1)),
        T::Plus => binary(BinOp::Add, ADD_BP),
        T::Minus => binary(BinOp::Sub, ADD_BP),
        T::Star => binary(BinOp::Mul, MUL_BP),
        T::Slash => binary(BinOp::Div, MUL_BP),
        T::SlashSlash => binary(BinOp::FloorDiv, MUL_BP),
        T::Percent => binary(BinOp::Mod, MUL_BP),
        T::StarStar => Some((Infix::Binary(BinOp::Pow), POW_BP, UNARY_BP)),
        T::LParen => Some((Infix::Call, POSTFIX_BP, 0)),
        T::Dot => Some((Infix::Field, POSTFIX_BP, 0)),
        T::LBracket => Some((Infix::Index, POSTFIX_BP, 0)),
        _ => None,
    }
}

fn boxed(expr: Expr) -> Box<Expr> {
    Box::new(expr)
}

impl Parser {
    /// Parses a full expression, including assignment.
    pub(super) fn parse_expr(&mut self) -> PResult<Expr> {
        self.parse_expr_bp(0)
    }

    /// Parses an expression nested in brackets, braces or an interpolation, where map literals are
    /// allowed again even inside a condition.
    fn parse_inner_expr(&mut self) -> PResult<Expr> {
        let saved = std::mem::replace(&mut self.no_map, false);
        let result = self.parse_expr();
        self.no_map = saved;
        result
    }

    /// Parses an `if`/`while` condition, `for` iterable or `match` subject, where `{` ends the expression.
    fn parse_condition(&mut self) -> PResult<Expr> {
        let saved = std::mem::replace(&mut self.no_map, true);
        let result = self.parse_expr();
        self.no_map = saved;
        result
    }

    /// Parses an expression whose operators all bind at least as tightly as `min_bp`.
    pub(super) fn parse_expr_bp(&mut self, min_bp: u8) -> PResult<Expr> {
        // Written without closures: in debug builds every frame on the recursion path costs stack.
        let saved = self.depth;
        let result = match self.deepen() {
            Ok(()) => self.parse_expr_loop(min_bp),
            Err(reported) => Err(reported),
        };
        self.depth = saved;
        result
    }

    fn parse_expr_loop(&mut self, min_bp: u8) -> PResult<Expr> {
        let mut lhs_is_range = matches!(self.peek(), TokenKind::DotDot | TokenKind::DotDotEq);
        let mut lhs = self.parse_prefix(min_bp)?;
        while let Some((op, lbp, rbp)) = infix_of(self.peek()) {
            if lbp < min_bp {
                break;
            }
            if lhs_is_range && matches!(op, Infix::Range { .. }) {
                return Err(self.error_here("range operators cannot be chained"));
            }
            // Each operator makes the tree one level deeper; the caller restores the depth afterwards.
            self.deepen()?;
            lhs = self.parse_infix(lhs, op, rbp)?;
            lhs_is_range = matches!(op, Infix::Range { .. });
        }
        Ok(lhs)
    }

    /// Parses the operator `op` and its right operand (if any) after `lhs`.
    fn parse_infix(&mut self, lhs: Expr, op: Infix, rbp: u8) -> PResult<Expr> {
        match op {
            Infix::Call => self.parse_call(lhs),
            Infix::Field => self.parse_field(lhs),
            Infix::Index => self.parse_index(lhs),
            Infix::Range { inclusive } => self.parse_range(Some(lhs), inclusive),
            Infix::Assign(op) => self.parse_assign(lhs, op),
            Infix::Logical(op) => {
                self.parse_binary(lhs, rbp, |lhs, rhs| ExprKind::Logical { op, lhs, rhs })
            }
            Infix::Binary(op) => {
                self.parse_binary(lhs, rbp, |lhs, rhs| ExprKind::Binary { op, lhs, rhs })
            }
        }
    }

    fn parse_binary(
        &mut self,
        lhs: Expr,
        rbp: u8,
        build: impl FnOnce(Box<Expr>, Box<Expr>) -> ExprKind,
    ) -> PResult<Expr> {
        self.advance();
        let rhs = self.parse_expr_bp(rbp)?;
        let span = lhs.span.to(rhs.span);
        Ok(Expr {
            kind: build(boxed(lhs), boxed(rhs)),
            span,
        })
    }

    /// In a condition, iterable or match subject a `{` normally opens the body; it is a map literal when
    /// the brace that closes it is directly followed by another `{` (`for k in {a: 1} { .. }`).
    fn map_before_block(&self) -> bool {
        let mut close = self
            .tokens
            .iter()
            .skip(self.pos)
            .scan(0usize, |depth, token| {
                match token.kind {
                    TokenKind::LBrace => *depth += 1,
                    TokenKind::RBrace => *depth = depth.saturating_sub(1),
                    _ => {}
                }
                Some(*depth)
            });
        let Some(offset) = close.position(|d| d == 0) else {
            return false;
        };
        matches!(self.peek_at(offset + 1), TokenKind::LBrace)
    }

    /// True when the current token can begin an expression (used for optional operands).
    fn can_start_expr(&self) -> bool {
        use TokenKind as T;
        match self.peek() {
            T::LBrace => !self.no_map || self.map_before_block(),
            T::Int(_)
            | T::Float(_)
            | T::Str(_)
            | T::StrHead(_)
            | T::Ident(_)
            | T::SelfKw
            | T::Nil => true,
            T::True
            | T::False
            | T::LParen
            | T::LBracket
            | T::Minus
            | T::Not
            | T::Spawn
            | T::SpawnDetached
            | T::SpawnLink
            | T::Await => true,
            T::Pipe | T::PipePipe | T::Async | T::If | T::While | T::For | T::Match | T::Try => {
                true
            }
            T::Return | T::Throw | T::Break | T::Continue | T::DotDot | T::DotDotEq | T::Error => {
                true
            }
            T::Scope | T::Supervisor | T::Shield | T::Select | T::Receive => true,
            _ => false,
        }
    }

    /// Parses the expression form that starts at the current token. Every arm is a plain call so that
    /// the frame stays small in debug builds (this function is on every level of nesting).
    fn parse_prefix(&mut self, min_bp: u8) -> PResult<Expr> {
        use TokenKind as T;
        let token = self.current();
        let span = token.span;
        if let Some(kind) = leaf_kind(&token.kind) {
            self.advance();
            return Ok(Expr { kind, span });
        }
        match token.kind {
            T::StrHead(_) => self.parse_interp(),
            T::LParen => self.parse_paren(),
            T::LBracket => self.parse_list(),
            T::LBrace if !self.no_map || self.map_before_block() => self.parse_map(),
            T::Minus => self.parse_unary(UnaryOp::Neg, UNARY_BP),
            T::Not => self.parse_unary(UnaryOp::Not, CMP_BP),
            T::Spawn => self.parse_spawn(SpawnKind::Child),
            T::SpawnDetached => self.parse_spawn(SpawnKind::Detached),
            T::SpawnLink => self.parse_spawn(SpawnKind::Link),
            T::Await => self.parse_await(),
            T::DotDot if min_bp <= RANGE_BP => self.parse_range(None, false),
            T::DotDotEq if min_bp <= RANGE_BP => self.parse_range(None, true),
            T::Pipe | T::PipePipe => self.parse_closure(false, span),
            T::Async => self.parse_async_closure(),
            T::If => self.parse_if(),
            T::While => self.parse_while(),
            T::For => self.parse_for(),
            T::Match => self.parse_match(),
            T::Try => self.parse_try(),
            T::Return => self.parse_return(),
            T::Throw => self.parse_throw(),
            T::Scope => self.parse_scope(ScopeKind::Scope),
            T::Supervisor => self.parse_scope(ScopeKind::Supervisor),
            T::Shield => self.parse_scope(ScopeKind::Shield),
            T::Select => self.parse_select(),
            T::Receive => self.parse_receive(),
            T::SlashSlash => {
                Err(self.expected(&format!("expression; {}", super::FLOOR_DIVISION_HINT)))
            }
            _ => Err(self.expected("expression")),
        }
    }

    fn parse_await(&mut self) -> PResult<Expr> {
        let start = self.advance().span;
        let operand = self.parse_expr_bp(UNARY_BP)?;
        let span = start.to(operand.span);
        Ok(Expr {
            kind: ExprKind::Await(boxed(operand)),
            span,
        })
    }

    fn parse_throw(&mut self) -> PResult<Expr> {
        let start = self.advance().span;
        let value = self.parse_expr()?;
        let span = start.to(value.span);
        Ok(Expr {
            kind: ExprKind::Throw(boxed(value)),
            span,
        })
    }

    /// `async |params| body`.
    fn parse_async_closure(&mut self) -> PResult<Expr> {
        let start = self.advance().span;
        if !matches!(self.peek(), TokenKind::Pipe | TokenKind::PipePipe) {
            return Err(self.expected("closure after 'async'"));
        }
        self.parse_closure(true, start)
    }

    fn parse_unary(&mut self, op: UnaryOp, operand_bp: u8) -> PResult<Expr> {
        let start = self.advance().span;
        let operand = self.parse_expr_bp(operand_bp)?;
        let span = start.to(operand.span);
        Ok(Expr {
            kind: ExprKind::Unary {
                op,
                expr: boxed(operand),
            },
            span,
        })
    }

    /// `spawn expr` or `spawn { block }`, and the same after `spawn_detached` and `spawn_link`.
    fn parse_spawn(&mut self, kind: SpawnKind) -> PResult<Expr> {
        let start = self.advance().span;
        let operand = if self.at(&TokenKind::LBrace) {
            let block = self.parse_block("'{'")?;
            Expr {
                span: block.span,
                kind: ExprKind::Block(block),
            }
        } else {
            self.parse_expr_bp(UNARY_BP)?
        };
        let span = start.to(operand.span);
        Ok(Expr {
            kind: ExprKind::Spawn {
                kind,
                expr: boxed(operand),
            },
            span,
        })
    }

    /// `return` or `return value`; the value is omitted when the next token cannot start one.
    fn parse_return(&mut self) -> PResult<Expr> {
        let start = self.advance().span;
        let value = if self.can_start_expr() {
            Some(boxed(self.parse_expr()?))
        } else {
            None
        };
        let span = self.span_from(start);
        Ok(Expr {
            kind: ExprKind::Return(value),
            span,
        })
    }

    /// `a..b`, `a..=b`, `a..`, `..b`, `..`: the part from the operator on (`start` is already parsed).
    fn parse_range(&mut self, start: Option<Expr>, inclusive: bool) -> PResult<Expr> {
        let op_span = self.advance().span;
        let end = if self.can_start_expr() {
            Some(boxed(self.parse_expr_bp(RANGE_BP + 1)?))
        } else if inclusive {
            return Err(self.expected("end of range after '..='"));
        } else {
            None
        };
        let first = start.as_ref().map_or(op_span, |s| s.span);
        let span = self.span_from(first);
        Ok(Expr {
            kind: ExprKind::Range {
                start: start.map(boxed),
                end,
                inclusive,
            },
            span,
        })
    }

    fn parse_assign(&mut self, target: Expr, op: Option<BinOp>) -> PResult<Expr> {
        self.advance();
        if !matches!(
            target.kind,
            ExprKind::Ident(_) | ExprKind::Field { .. } | ExprKind::Index { .. }
        ) {
            self.error_at(target.span, "invalid assignment target");
        }
        let value = self.parse_expr_bp(ASSIGN_BP - 1)?;
        let span = target.span.to(value.span);
        Ok(Expr {
            kind: ExprKind::Assign {
                target: boxed(target),
                op,
                value: boxed(value),
            },
            span,
        })
    }

    /// `callee(args)`: positional, `name: value` and `..spread` arguments; newlines allowed inside.
    fn parse_call(&mut self, callee: Expr) -> PResult<Expr> {
        self.advance();
        let args = self.parse_args()?;
        let span = self.span_from(callee.span);
        Ok(Expr {
            kind: ExprKind::Call {
                callee: boxed(callee),
                args,
            },
            span,
        })
    }

    /// The arguments after `(` through the closing `)`.
    fn parse_args(&mut self) -> PResult<Vec<Arg>> {
        let mut args = Vec::new();
        loop {
            self.skip_newlines();
            if self.eat(&TokenKind::RParen) {
                return Ok(args);
            }
            let arg = self.parse_arg()?;
            if matches!(arg, Arg::Positional(_))
                && args.iter().any(|a| matches!(a, Arg::Named { .. }))
            {
                let span = self.tokens[self.pos.saturating_sub(1)].span;
                self.error_at(span, "positional argument after named argument");
            }
            args.push(arg);
            self.skip_newlines();
            if self.eat(&TokenKind::Comma) {
                continue;
            }
            if self.eat(&TokenKind::RParen) {
                return Ok(args);
            }
            return Err(self.expected("')' after arguments"));
        }
    }

    fn parse_arg(&mut self) -> PResult<Arg> {
        if self.eat(&TokenKind::DotDot) {
            return Ok(Arg::Spread(self.parse_inner_expr()?));
        }
        if let (TokenKind::Ident(text), TokenKind::Colon) = (self.peek(), self.peek_at(1)) {
            let text = text.clone();
            let span = self.advance().span;
            self.advance();
            let value = self.parse_inner_expr()?;
            return Ok(Arg::Named {
                name: Name { text, span },
                value,
            });
        }
        Ok(Arg::Positional(self.parse_inner_expr()?))
    }

    /// `object.name`; keywords are allowed as field names.
    fn parse_field(&mut self, object: Expr) -> PResult<Expr> {
        self.advance();
        let token = self.current().clone();
        let text: Rc<str> = match &token.kind {
            TokenKind::Ident(text) => text.clone(),
            kind => match kind.keyword_text() {
                Some(text) => Rc::from(text),
                None => return Err(self.expected("field name after '.'")),
            },
        };
        self.advance();
        let span = object.span.to(token.span);
        Ok(Expr {
            kind: ExprKind::Field {
                object: boxed(object),
                name: Name {
                    text,
                    span: token.span,
                },
            },
            span,
        })
    }

    /// `object[index]` (a slice when the index is a range).
    fn parse_index(&mut self, object: Expr) -> PResult<Expr> {
        self.advance();
        let index = self.parse_inner_expr()?;
        self.expect(&TokenKind::RBracket, "']' after index")?;
        let span = self.span_from(object.span);
        Ok(Expr {
            kind: ExprKind::Index {
                object: boxed(object),
                index: boxed(index),
            },
            span,
        })
    }

    /// `( expr )`; the span includes the parentheses.
    fn parse_paren(&mut self) -> PResult<Expr> {
        let open = self.advance().span;
        let inner = self.parse_inner_expr()?;
        self.expect(&TokenKind::RParen, "')' after expression")?;
        Ok(Expr {
            kind: inner.kind,
            span: self.span_from(open),
        })
    }

    /// `[a, ..xs, b]`, trailing comma allowed.
    fn parse_list(&mut self) -> PResult<Expr> {
        let open = self.advance().span;
        let mut items = Vec::new();
        loop {
            self.skip_newlines();
            if self.eat(&TokenKind::RBracket) {
                break;
            }
            let spread = self.eat(&TokenKind::DotDot);
            let item = self.parse_inner_expr()?;
            items.push(if spread {
                ListItem::Spread(item)
            } else {
                ListItem::Item(item)
            });
            self.skip_newlines();
            if self.eat(&TokenKind::Comma) {
                continue;
            }
            if self.eat(&TokenKind::RBracket) {
                break;
            }
            return Err(self.expected("']' after list elements"));
        }
        Ok(Expr {
            kind: ExprKind::List(items),
            span: self.span_from(open),
        })
    }

    /// `{"a": 1, b: 2, 3: x, ..defaults}`; a bare identifier key is a string key.
    fn parse_map(&mut self) -> PResult<Expr> {
        let open = self.advance().span;
        let mut items = Vec::new();
        loop {
            self.skip_newlines();
            if self.eat(&TokenKind::RBrace) {
                break;
            }
            items.push(self.parse_map_item()?);
            self.skip_newlines();
            if self.eat(&TokenKind::Comma) {
                continue;
            }
            if self.eat(&TokenKind::RBrace) {
                break;
            }
            return Err(self.expected("'}' after map entries"));
        }
        Ok(Expr {
            kind: ExprKind::Map(items),
            span: self.span_from(open),
        })
    }

    fn parse_map_item(&mut self) -> PResult<MapItem> {
        if self.eat(&TokenKind::DotDot) {
            return Ok(MapItem::Spread(self.parse_inner_expr()?));
        }
        let key = match (self.peek(), self.peek_at(1)) {
            (TokenKind::Ident(text), TokenKind::Colon) => {
                let kind = ExprKind::Str(text.clone());
                Expr {
                    kind,
                    span: self.advance().span,
                }
            }
            _ => self.parse_inner_expr()?,
        };
        self.expect(&TokenKind::Colon, "':' after map key")?;
        self.skip_newlines();
        let value = self.parse_inner_expr()?;
        Ok(MapItem::Pair { key, value })
    }

    /// An interpolated string: `StrHead expr (StrMid expr)* StrTail`.
    fn parse_interp(&mut self) -> PResult<Expr> {
        let head = self.advance();
        let mut parts = Vec::new();
        push_lit(&mut parts, &head.kind);
        loop {
            let expr = self.parse_inner_expr()?;
            parts.push(InterpPart::Expr(expr));
            let token = self.current().clone();
            match token.kind {
                TokenKind::StrMid(_) => push_lit(&mut parts, &self.advance().kind),
                TokenKind::StrTail(_) => {
                    push_lit(&mut parts, &self.advance().kind);
                    break;
                }
                _ => return Err(self.expected("'}' after interpolated expression")),
            }
        }
        Ok(Expr {
            kind: ExprKind::Interp(parts),
            span: self.span_from(head.span),
        })
    }

    /// A closure `|params| body`, `|| body` or `async |params| body`; `start` is where it begins.
    fn parse_closure(&mut self, is_async: bool, start: Span) -> PResult<Expr> {
        let params = if self.eat(&TokenKind::PipePipe) {
            Vec::new()
        } else {
            self.advance();
            self.parse_params(&TokenKind::Pipe, "'|' after closure parameters")?
        };
        let body = if self.at(&TokenKind::LBrace) {
            self.parse_block("'{'")?
        } else {
            let expr = self.parse_expr()?;
            let span = expr.span;
            Block {
                stmts: vec![Stmt {
                    kind: StmtKind::Expr(expr),
                    span,
                }],
                span,
            }
        };
        let span = start.to(body.span);
        let decl = FnDecl {
            name: None,
            params,
            body,
            is_async,
            span,
        };
        Ok(Expr {
            kind: ExprKind::Closure(Rc::new(decl)),
            span,
        })
    }

    /// `if cond { } else if cond { } else { }`.
    fn parse_if(&mut self) -> PResult<Expr> {
        let start = self.advance().span;
        let cond = self.parse_condition()?;
        let then = self.parse_block("'{' after if condition")?;
        let else_ = if !self.eat_after_newline(&TokenKind::Else) {
            None
        } else if self.at(&TokenKind::If) {
            Some(boxed(self.parse_else_if()?))
        } else {
            let block = self.parse_block("'{' after 'else'")?;
            Some(boxed(Expr {
                span: block.span,
                kind: ExprKind::Block(block),
            }))
        };
        let kind = ExprKind::If {
            cond: boxed(cond),
            then,
            else_,
        };
        Ok(Expr {
            kind,
            span: self.span_from(start),
        })
    }

    /// The `if` after `else`, one level deeper so that a long `else if` chain hits the nesting limit.
    fn parse_else_if(&mut self) -> PResult<Expr> {
        let saved = self.depth;
        let result = match self.deepen() {
            Ok(()) => self.parse_if(),
            Err(reported) => Err(reported),
        };
        self.depth = saved;
        result
    }

    fn parse_while(&mut self) -> PResult<Expr> {
        let start = self.advance().span;
        let cond = self.parse_condition()?;
        let body = self.parse_block("'{' after while condition")?;
        Ok(Expr {
            kind: ExprKind::While {
                cond: boxed(cond),
                body,
            },
            span: self.span_from(start),
        })
    }

    /// `for pattern in iterable { body }`.
    fn parse_for(&mut self) -> PResult<Expr> {
        let start = self.advance().span;
        let pattern = self.parse_pattern()?;
        self.expect(&TokenKind::In, "'in' after for pattern")?;
        let iterable = self.parse_condition()?;
        let body = self.parse_block("'{' after for iterable")?;
        let kind = ExprKind::For {
            pattern,
            iterable: boxed(iterable),
            body,
        };
        Ok(Expr {
            kind,
            span: self.span_from(start),
        })
    }

    /// `match subject { pattern if guard => body, ... }`; arms are separated by `,` and/or newlines.
    fn parse_match(&mut self) -> PResult<Expr> {
        let start = self.advance().span;
        let subject = self.parse_condition()?;
        self.expect(&TokenKind::LBrace, "'{' after match subject")?;
        let saved = std::mem::replace(&mut self.no_map, false);
        let arms = self.parse_match_arms();
        self.no_map = saved;
        let arms = arms?;
        let kind = ExprKind::Match {
            subject: boxed(subject),
            arms,
        };
        Ok(Expr {
            kind,
            span: self.span_from(start),
        })
    }

    /// The arms of a match through its closing `}`, recovering from errors arm by arm.
    fn parse_match_arms(&mut self) -> PResult<Vec<MatchArm>> {
        self.parse_braced_items("match", "match arm", |p, arms| {
            let arm = p.parse_match_arm()?;
            arms.push(arm);
            Ok(())
        })
    }

    /// The items of a `match` or `select` (`construct`) through its closing `}`, separated by
    /// commas or newlines, recovering from errors item by item. `parse_one` parses one item and
    /// adds it to the list (or leaves it out after reporting it).
    fn parse_braced_items<T>(
        &mut self,
        construct: &str,
        item: &str,
        mut parse_one: impl FnMut(&mut Self, &mut Vec<T>) -> PResult<()>,
    ) -> PResult<Vec<T>> {
        let mut items = Vec::new();
        loop {
            while matches!(self.peek(), TokenKind::Newline | TokenKind::Semicolon) {
                self.advance();
            }
            match self.peek() {
                TokenKind::RBrace => {
                    self.advance();
                    return Ok(items);
                }
                TokenKind::Eof => return Err(self.expected(&format!("'}}' to close {construct}"))),
                _ => {}
            }
            let item_start = self.pos;
            let result = parse_one(self, &mut items).and_then(|()| match self.peek() {
                TokenKind::Comma | TokenKind::Newline | TokenKind::RBrace => Ok(()),
                _ => Err(self.expected(&format!("',' or newline after {item}"))),
            });
            if result.is_err() {
                self.synchronize(item_start, true);
            }
            self.eat(&TokenKind::Comma);
        }
    }

    /// The body after `=>` of a match arm or select case: a block, or one expression.
    fn parse_arm_body(&mut self) -> PResult<Expr> {
        if self.at(&TokenKind::LBrace) {
            let block = self.parse_block("'{'")?;
            Ok(Expr {
                span: block.span,
                kind: ExprKind::Block(block),
            })
        } else {
            self.parse_expr()
        }
    }

    fn parse_match_arm(&mut self) -> PResult<MatchArm> {
        let pattern = self.parse_pattern()?;
        let guard = if self.eat(&TokenKind::If) {
            Some(self.parse_expr()?)
        } else {
            None
        };
        let what = if guard.is_some() {
            "'=>' after match guard"
        } else {
            "'=>' after match pattern"
        };
        self.expect(&TokenKind::FatArrow, what)?;
        let body = self.parse_arm_body()?;
        let span = pattern.span.to(body.span);
        Ok(MatchArm {
            pattern,
            guard,
            body,
            span,
        })
    }

    /// `try { } catch name if guard { } ... finally { }`.
    fn parse_try(&mut self) -> PResult<Expr> {
        let start = self.advance().span;
        let body = self.parse_block("'{' after 'try'")?;
        let mut catches = Vec::new();
        while self.eat_after_newline(&TokenKind::Catch) {
            catches.push(self.parse_catch()?);
        }
        let finally = if self.eat_after_newline(&TokenKind::Finally) {
            Some(self.parse_block("'{' after 'finally'")?)
        } else {
            None
        };
        if catches.is_empty() && finally.is_none() {
            self.expected("'catch' or 'finally' after try block");
        }
        Ok(Expr {
            kind: ExprKind::Try {
                body,
                catches,
                finally,
            },
            span: self.span_from(start),
        })
    }

    /// One catch clause after the `catch` keyword.
    fn parse_catch(&mut self) -> PResult<CatchClause> {
        let start = self.tokens[self.pos.saturating_sub(1)].span;
        let name = match self.peek() {
            TokenKind::Ident(_) => Some(self.expect_name("name")?),
            _ => None,
        };
        let guard = if self.eat(&TokenKind::If) {
            Some(self.parse_condition()?)
        } else {
            None
        };
        let body = self.parse_block("'{' after catch clause")?;
        Ok(CatchClause {
            name,
            guard,
            body,
            span: self.span_from(start),
        })
    }

    /// `scope { }`, `scope |s| { }`, `supervisor { }`, `supervisor |s| { }` or `shield { }`.
    fn parse_scope(&mut self, kind: ScopeKind) -> PResult<Expr> {
        let token = self.advance();
        let keyword = token.kind.keyword_text().unwrap_or("scope");
        if kind == ScopeKind::Shield && self.at(&TokenKind::Pipe) {
            return Err(self.error_here("'shield' takes no name: write `shield { ... }`"));
        }
        let name = if self.eat(&TokenKind::Pipe) {
            let name = self.expect_name(&format!("scope name after '{keyword} |'"))?;
            self.expect(&TokenKind::Pipe, "'|' after scope name")?;
            Some(name)
        } else {
            None
        };
        let body = self.parse_block(&format!("'{{' after '{keyword}'"))?;
        Ok(Expr {
            kind: ExprKind::Scope { kind, name, body },
            span: self.span_from(token.span),
        })
    }

    /// `select { v = ch.recv() => body, ch.send(x) => body, ... }`; cases are separated like match arms.
    fn parse_select(&mut self) -> PResult<Expr> {
        let start = self.advance().span;
        self.expect(&TokenKind::LBrace, "'{' after 'select'")?;
        let saved = std::mem::replace(&mut self.no_map, false);
        let cases = self.parse_select_cases();
        self.no_map = saved;
        let cases = cases?;
        Ok(Expr {
            kind: ExprKind::Select { cases },
            span: self.span_from(start),
        })
    }

    /// The cases of a select through its closing `}`, recovering from errors case by case. A case that
    /// is reported as malformed is left out.
    fn parse_select_cases(&mut self) -> PResult<Vec<SelectCase>> {
        self.parse_braced_items("select", "select case", |p, cases| {
            if let Some(case) = p.parse_select_case()? {
                p.check_select_duplicate(cases, &case);
                cases.push(case);
            }
            Ok(())
        })
    }

    /// One `[name =] op => body` case; `after` and `default` are recognized only at the start of a
    /// case (`default` is not a keyword). Returns `None` (after reporting it) when the head is not a
    /// select operation; its `=>` and body are still parsed, so that parsing resumes after them.
    fn parse_select_case(&mut self) -> PResult<Option<SelectCase>> {
        let start = self.current().span;
        let binding = match (self.peek(), self.peek_at(1)) {
            (TokenKind::Ident(_), TokenKind::Eq) => {
                let name = self.expect_name("name")?;
                self.advance();
                Some(name)
            }
            _ => None,
        };
        let op = match self.peek() {
            TokenKind::After => {
                self.advance();
                Some(SelectOp::After {
                    ms: self.parse_expr()?,
                })
            }
            TokenKind::Ident(text)
                if &**text == "default" && *self.peek_at(1) == TokenKind::FatArrow =>
            {
                self.advance();
                Some(SelectOp::Default)
            }
            _ => {
                let head = self.parse_expr()?;
                select_op(head, binding.clone())
            }
        };
        let head_end = self.prev_end;
        self.expect(&TokenKind::FatArrow, "'=>' after select case")?;
        match &op {
            None => {
                let head_span = Span::new(start.start, head_end);
                self.error_at(head_span, SELECT_CASE_FORMS);
            }
            Some(SelectOp::Send { .. } | SelectOp::After { .. } | SelectOp::Default) => {
                if let Some(name) = &binding {
                    self.error_at(
                        name.span,
                        "only `ch.recv()`, `ch.recv_ok()` and `await t` cases can bind a value",
                    );
                }
            }
            Some(_) => {}
        }
        let body = self.parse_arm_body()?;
        Ok(op.map(|op| SelectCase {
            op,
            body,
            span: self.span_from(start),
        }))
    }

    /// Reports a second `default` or a second `after` case.
    fn check_select_duplicate(&mut self, earlier: &[SelectCase], case: &SelectCase) {
        let kind = match case.op {
            SelectOp::Default => "default",
            SelectOp::After { .. } => "after",
            _ => return,
        };
        let same =
            |c: &SelectCase| std::mem::discriminant(&c.op) == std::mem::discriminant(&case.op);
        if earlier.iter().any(same) {
            self.error_at(
                case.span,
                format!("a select can have only one `{kind}` case"),
            );
        }
    }

    /// `receive { pattern [if guard] => body, ..., after ms => body }`. The `after` clause is
    /// optional, at most one, and must come last.
    fn parse_receive(&mut self) -> PResult<Expr> {
        let start = self.advance().span;
        self.expect(&TokenKind::LBrace, "'{' after 'receive'")?;
        let saved = std::mem::replace(&mut self.no_map, false);
        let mut after: Option<Box<(Expr, Expr)>> = None;
        let arms = self.parse_braced_items("receive", "receive clause", |p, arms| {
            if p.at(&TokenKind::After) {
                let at = p.advance().span;
                let ms = p.parse_expr()?;
                p.expect(&TokenKind::FatArrow, "'=>' after the 'after' timeout")?;
                let body = p.parse_arm_body()?;
                if after.is_some() {
                    p.error_at(at, "a receive can have only one `after` clause");
                } else {
                    after = Some(Box::new((ms, body)));
                }
                return Ok(());
            }
            if after.is_some() {
                let span = p.current().span;
                p.error_at(
                    span,
                    "the `after` clause must be the last clause of a receive",
                );
            }
            let arm = p.parse_match_arm()?;
            arms.push(arm);
            Ok(())
        });
        self.no_map = saved;
        let arms = arms?;
        Ok(Expr {
            kind: ExprKind::Receive { arms, after },
            span: self.span_from(start),
        })
    }
}

/// What a select case head may be.
const SELECT_CASE_FORMS: &str =
    "select case must be `ch.recv()`, `ch.recv_ok()`, `ch.send(v)`, `await t`, `after ms` or `default`";

/// Classifies the head expression of a select case (after an optional `name =`): a `recv()`,
/// `recv_ok()` or `send(v)` method call, or `await task`. `None` for anything else.
fn select_op(head: Expr, binding: Option<Name>) -> Option<SelectOp> {
    match head.kind {
        ExprKind::Await(task) => Some(SelectOp::Await {
            binding,
            task: *task,
        }),
        ExprKind::Call { callee, mut args } => {
            let ExprKind::Field { object, name } = callee.kind else {
                return None;
            };
            match (&*name.text, args.len()) {
                ("recv", 0) | ("recv_ok", 0) => Some(SelectOp::Recv {
                    binding,
                    channel: *object,
                    ok: &*name.text == "recv_ok",
                }),
                ("send", 1) => match args.pop() {
                    Some(Arg::Positional(value)) => Some(SelectOp::Send {
                        channel: *object,
                        value,
                    }),
                    _ => None,
                },
                _ => None,
            }
        }
        _ => None,
    }
}

/// The expression for a token that is a whole expression by itself (a literal, a name, `break`).
fn leaf_kind(kind: &TokenKind) -> Option<ExprKind> {
    let leaf = match kind {
        TokenKind::Int(value) => ExprKind::Int(*value),
        TokenKind::Float(value) => ExprKind::Float(*value),
        TokenKind::Str(text) => ExprKind::Str(text.clone()),
        TokenKind::Ident(text) => ExprKind::Ident(text.clone()),
        TokenKind::SelfKw => ExprKind::SelfRef,
        TokenKind::Nil => ExprKind::Nil,
        TokenKind::True => ExprKind::Bool(true),
        TokenKind::False => ExprKind::Bool(false),
        TokenKind::Break => ExprKind::Break,
        TokenKind::Continue => ExprKind::Continue,
        _ => return None,
    };
    Some(leaf)
}

/// Appends the literal text of a string-part token, if it is not empty.
fn push_lit(parts: &mut Vec<InterpPart>, kind: &TokenKind) {
    if let TokenKind::StrHead(text) | TokenKind::StrMid(text) | TokenKind::StrTail(text) = kind {
        if !text.is_empty() {
            parts.push(InterpPart::Lit(text.clone()));
        }
    }
}
