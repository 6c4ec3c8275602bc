//! Pattern parsing, shared by `match` arms, destructuring `let` and `for`.
//!
//! Forms: `_`, `name`, literals (`nil`, `true`, `false`, numbers, `-1`, strings), list patterns
//! `[a, ..rest, z]` / `[..]`, map patterns `{name, age: a, "key": p}`, alternatives `p | q`, and
//! parentheses for grouping.

use super::{PResult, Parser};
use crate::ast::{Expr, ExprKind, Name, Pattern, PatternKind};
use crate::token::TokenKind;
use std::rc::Rc;

impl Parser {
    /// Parses a pattern, including `|` alternatives.
    pub(super) fn parse_pattern(&mut self) -> PResult<Pattern> {
        let saved = self.depth;
        let result = match self.deepen() {
            Ok(()) => self.parse_alternatives(),
            Err(reported) => Err(reported),
        };
        self.depth = saved;
        result
    }

    fn parse_alternatives(&mut self) -> PResult<Pattern> {
        let first = self.parse_single_pattern()?;
        if !self.at(&TokenKind::Pipe) {
            return Ok(first);
        }
        let start = first.span;
        let mut alternatives = vec![first];
        while self.eat(&TokenKind::Pipe) {
            alternatives.push(self.parse_single_pattern()?);
        }
        Ok(Pattern {
            kind: PatternKind::Or(alternatives),
            span: self.span_from(start),
        })
    }

    /// A pattern without top-level alternatives.
    fn parse_single_pattern(&mut self) -> PResult<Pattern> {
        let token = self.current().clone();
        let literal = |kind| {
            PatternKind::Literal(Box::new(Expr {
                kind,
                span: token.span,
            }))
        };
        let kind = match &token.kind {
            TokenKind::Ident(text) if &**text == "_" => PatternKind::Wildcard,
            TokenKind::Ident(text) => PatternKind::Bind(Name {
                text: text.clone(),
                span: token.span,
            }),
            TokenKind::Nil => literal(ExprKind::Nil),
            TokenKind::True => literal(ExprKind::Bool(true)),
            TokenKind::False => literal(ExprKind::Bool(false)),
            TokenKind::Int(value) => literal(ExprKind::Int(*value)),
            TokenKind::Float(value) => literal(ExprKind::Float(*value)),
            TokenKind::Str(text) => literal(ExprKind::Str(text.clone())),
            TokenKind::StrHead(_) => {
                return Err(self.error_here("a pattern cannot contain string interpolation"))
            }
            TokenKind::Minus => return self.parse_negative_pattern(),
            TokenKind::LBracket => return self.parse_list_pattern(),
            TokenKind::LBrace => return self.parse_map_pattern(),
            TokenKind::LParen => {
                self.advance();
                let inner = self.parse_pattern()?;
                self.expect(&TokenKind::RParen, "')' after pattern")?;
                return Ok(Pattern {
                    kind: inner.kind,
                    span: self.span_from(token.span),
                });
            }
            _ => return Err(self.expected("pattern")),
        };
        self.advance();
        Ok(Pattern {
            kind,
            span: token.span,
        })
    }

    /// `-1` or `-2.5`: a negative number literal.
    fn parse_negative_pattern(&mut self) -> PResult<Pattern> {
        let minus = self.advance().span;
        let kind = match *self.peek() {
            // Int tokens are never negative, so this cannot overflow.
            TokenKind::Int(value) => ExprKind::Int(value.wrapping_neg()),
            TokenKind::Float(value) => ExprKind::Float(-value),
            _ => return Err(self.expected("number after '-' in pattern")),
        };
        self.advance();
        let span = self.span_from(minus);
        Ok(Pattern {
            kind: PatternKind::Literal(Box::new(Expr { kind, span })),
            span,
        })
    }

    /// `[a, b]`, `[head, ..rest]`, `[first, .., last]`, `[..]`.
    fn parse_list_pattern(&mut self) -> PResult<Pattern> {
        let open = self.advance().span;
        let mut before = Vec::new();
        let mut after = Vec::new();
        let mut rest: Option<Option<Name>> = None;
        loop {
            self.skip_newlines();
            if self.eat(&TokenKind::RBracket) {
                break;
            }
            if self.at(&TokenKind::DotDot) {
                let dots = self.advance().span;
                let name = match self.peek() {
                    TokenKind::Ident(_) => Some(self.expect_name("name")?),
                    _ => None,
                };
                if rest.is_some() {
                    self.error_at(dots, "a list pattern can have only one '..'");
                } else {
                    rest = Some(name);
                }
            } else {
                let element = self.parse_pattern()?;
                if rest.is_some() {
                    after.push(element)
                } else {
                    before.push(element)
                }
            }
            self.skip_newlines();
            if self.eat(&TokenKind::Comma) {
                continue;
            }
            if self.eat(&TokenKind::RBracket) {
                break;
            }
            return Err(self.expected("']' after list pattern"));
        }
        Ok(Pattern {
            kind: PatternKind::List {
                before,
                rest,
                after,
            },
            span: self.span_from(open),
        })
    }

    /// `{name, age: a, "key": p}`: a subset match; `{name}` is short for `{name: name}`.
    fn parse_map_pattern(&mut self) -> PResult<Pattern> {
        let open = self.advance().span;
        let mut entries = Vec::new();
        loop {
            self.skip_newlines();
            if self.eat(&TokenKind::RBrace) {
                break;
            }
            entries.push(self.parse_map_pattern_entry()?);
            self.skip_newlines();
            if self.eat(&TokenKind::Comma) {
                continue;
            }
            if self.eat(&TokenKind::RBrace) {
                break;
            }
            return Err(self.expected("'}' after map pattern"));
        }
        Ok(Pattern {
            kind: PatternKind::Map(entries),
            span: self.span_from(open),
        })
    }

    fn parse_map_pattern_entry(&mut self) -> PResult<(Rc<str>, Pattern)> {
        let token = self.current().clone();
        match token.kind {
            TokenKind::Ident(text) => {
                self.advance();
                if !self.eat(&TokenKind::Colon) {
                    let name = Name {
                        text: text.clone(),
                        span: token.span,
                    };
                    return Ok((
                        text,
                        Pattern {
                            kind: PatternKind::Bind(name),
                            span: token.span,
                        },
                    ));
                }
                self.skip_newlines();
                Ok((text, self.parse_pattern()?))
            }
            TokenKind::Str(text) => {
                self.advance();
                self.expect(&TokenKind::Colon, "':' after map pattern key")?;
                self.skip_newlines();
                Ok((text, self.parse_pattern()?))
            }
            _ => Err(self.expected("map pattern key")),
        }
    }
}
