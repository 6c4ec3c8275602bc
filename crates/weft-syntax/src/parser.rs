//! The parser: a hand-written recursive-descent parser for statements and patterns with a Pratt parser
//! for expressions. It never fails and never panics: it returns the program it could build plus every
//! diagnostic it found.
//!
//! # Error recovery
//! Parse functions return [`PResult`]; an `Err` means "a diagnostic has been reported, give up on this
//! construct". Statement lists (the program, blocks, class bodies, match arms, select cases) catch the
//! error and skip ahead to the next statement boundary: a newline or `;` outside the brackets that were
//! open where the error happened, or the `}` closing the enclosing block (see [`Parser::synchronize`]).
//! So each statement reports at most one error, and errors in separate statements are all reported.
//! Diagnostics at the same position as the previous one are dropped, and no parse error is reported at
//! a lexer error token (the lexer reported it already) or at the end of input after an unterminated
//! string or comment.
//!
//! # Nesting limit
//! To keep the parser (and later passes that walk the tree recursively) within the stack, expressions,
//! blocks and patterns may nest at most [`MAX_DEPTH`] deep; a long chain of binary operators or postfix
//! operations counts one level per operator, as it builds a tree that deep.
//!
//! # Layout
//! The lexer already dropped the line breaks that do not end statements (see `lexer.rs`). Inside `{...}`
//! line breaks are kept, so the parser skips them itself in map literals, map patterns and between match
//! arms, select cases and class members.

mod expr;
mod pattern;

use crate::ast::{Block, Expr, Stmt, StmtKind};
use crate::ast::{
    ClassDecl, ExprKind, FnDecl, ImportSource, Name, Param, Pattern, PatternKind, Program,
};
use crate::diagnostic::Diagnostic;
use crate::lexer::lex_source;
use crate::span::Span;
use crate::token::{Token, TokenKind};
use std::rc::Rc;

/// Appended to errors caused by a `//` that was meant as a comment but lexed as floor division.
const FLOOR_DIVISION_HINT: &str =
    "'//' with one blank on each side is floor division, put two spaces before a comment";

/// How deeply expressions, blocks and patterns may nest.
const MAX_DEPTH: u32 = 256;

/// Parses a whole source file. Spans in the result are byte offsets into `source`.
///
/// Never panics: on malformed input it returns the statements it could parse and a diagnostic for each
/// problem, sorted by position.
pub fn parse(source: &str) -> (Program, Vec<Diagnostic>) {
    let lexed = lex_source(source);
    let mut parser = Parser::new(lexed.tokens, lexed.newline_before, lexed.unterminated);
    let stmts = parser.parse_stmts(false);
    let mut diagnostics = lexed.diagnostics;
    diagnostics.extend(parser.diagnostics);
    diagnostics.sort_by_key(|d| d.span.start);
    (Program { stmts }, diagnostics)
}

/// The error marker: a diagnostic has been reported (or deliberately suppressed) for this failure.
struct Reported;

/// The result of a parse function.
type PResult<T> = Result<T, Reported>;

/// Parser state over the token list. Invariant: `tokens` ends with `Eof` and `pos` never passes it.
struct Parser {
    tokens: Vec<Token>,
    /// Whether a line break (even one the lexer dropped) comes before each token.
    newline_before: Vec<bool>,
    pos: usize,
    /// End of the last consumed token, where "expected X" errors at the end of a line point.
    prev_end: u32,
    diagnostics: Vec<Diagnostic>,
    depth: u32,
    /// Inside an `if`/`while` condition, a `for` iterable or a `match` subject, where `{` starts the body.
    no_map: bool,
    /// The lexer reported an unterminated string or comment, so errors at the end of input are noise.
    unterminated: bool,
}

impl Parser {
    fn new(mut tokens: Vec<Token>, mut newline_before: Vec<bool>, unterminated: bool) -> Parser {
        if tokens.last().is_none_or(|t| t.kind != TokenKind::Eof) {
            let end = tokens.last().map_or(0, |t| t.span.end);
            tokens.push(Token {
                kind: TokenKind::Eof,
                span: Span::new(end, end),
            });
        }
        newline_before.resize(tokens.len(), false);
        Parser {
            tokens,
            newline_before,
            pos: 0,
            prev_end: 0,
            diagnostics: Vec::new(),
            depth: 0,
            no_map: false,
            unterminated,
        }
    }

    // ----- Token access -----

    fn current(&self) -> &Token {
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn peek(&self) -> &TokenKind {
        &self.current().kind
    }

    fn peek_at(&self, offset: usize) -> &TokenKind {
        &self.tokens[(self.pos + offset).min(self.tokens.len() - 1)].kind
    }

    fn at(&self, kind: &TokenKind) -> bool {
        self.peek() == kind
    }

    fn advance(&mut self) -> Token {
        let token = self.current().clone();
        if token.kind != TokenKind::Eof {
            self.pos += 1;
        }
        // "expected X" at the end of a line points just after the last real token, not after the newline.
        if !matches!(token.kind, TokenKind::Eof | TokenKind::Newline) {
            self.prev_end = token.span.end;
        }
        token
    }

    fn eat(&mut self, kind: &TokenKind) -> bool {
        let found = self.at(kind);
        if found {
            self.advance();
        }
        found
    }

    /// Eats `kind`, also when it starts the next line (`}` newline `else`).
    fn eat_after_newline(&mut self, kind: &TokenKind) -> bool {
        if self.at(&TokenKind::Newline) && self.peek_at(1) == kind {
            self.advance();
        }
        self.eat(kind)
    }

    fn skip_newlines(&mut self) {
        while self.at(&TokenKind::Newline) {
            self.advance();
        }
    }

    /// The span from `start` to the end of the last consumed token.
    fn span_from(&self, start: Span) -> Span {
        Span::new(start.start, self.prev_end.max(start.end))
    }

    // ----- Diagnostics -----

    /// Reports `message` at `span`, unless a diagnostic was already reported at that position.
    fn error_at(&mut self, span: Span, message: impl Into<String>) -> Reported {
        if self
            .diagnostics
            .last()
            .is_none_or(|d| d.span.start != span.start)
        {
            self.diagnostics.push(Diagnostic::new(span, message));
        }
        Reported
    }

    /// Reports `message` at the current token; at the end of a line, at the end of the previous token.
    fn error_here(&mut self, message: impl Into<String>) -> Reported {
        let token = self.current();
        // The lexer has already reported an error token.
        if token.kind == TokenKind::Error {
            return Reported;
        }
        // After an unterminated string or comment, whatever is "missing" at the end of input is noise.
        let eof_offset = self.tokens[self.tokens.len() - 1].span.start;
        if self.unterminated && token.span.start >= eof_offset {
            return Reported;
        }
        let at_line_end = matches!(token.kind, TokenKind::Newline | TokenKind::Eof)
            || self.newline_before.get(self.pos).copied().unwrap_or(false);
        let span = if at_line_end && self.pos > 0 {
            Span::new(self.prev_end, self.prev_end)
        } else {
            token.span
        };
        self.error_at(span, message)
    }

    /// Reports `expected {what}` at the current token.
    fn expected(&mut self, what: &str) -> Reported {
        self.error_here(format!("expected {what}"))
    }

    fn expect(&mut self, kind: &TokenKind, what: &str) -> PResult<Span> {
        if self.at(kind) {
            Ok(self.advance().span)
        } else {
            Err(self.expected(what))
        }
    }

    fn expect_name(&mut self, what: &str) -> PResult<Name> {
        match self.peek() {
            TokenKind::Ident(text) => {
                let text = text.clone();
                let span = self.advance().span;
                Ok(Name { text, span })
            }
            _ => Err(self.expected(what)),
        }
    }

    /// Counts one more nesting level, failing past the limit. The caller saves `depth` before and restores
    /// it afterwards (by hand rather than through a closure, to keep debug-build frames few and small).
    fn deepen(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_here("expression is nested too deeply"));
        }
        Ok(())
    }

    // ----- Recovery -----

    /// Skips to the next statement boundary after an error in the statement that began at token
    /// `start`: a newline or `;` (or a `,` when `stop_at_comma`) outside every bracket that was open at
    /// the error, or a `}` closing the enclosing block (even inside an unclosed `(`). Brackets opened between `start` and the error
    /// are tracked so that the skip does not stop inside them; a newline inside `(` or `[` means the
    /// lexer closed them (see the recovery rule in `lexer.rs`).
    fn synchronize(&mut self, start: usize, stop_at_comma: bool) {
        let mut open = Vec::new();
        for token in &self.tokens[start.min(self.pos)..self.pos] {
            track_open(&mut open, &token.kind);
        }
        loop {
            let kind = self.peek();
            if *kind == TokenKind::Newline {
                while matches!(open.last(), Some(TokenKind::LParen | TokenKind::LBracket)) {
                    open.pop();
                }
            }
            let at_top = open.is_empty();
            match kind {
                TokenKind::Eof => break,
                TokenKind::Newline | TokenKind::Semicolon if at_top => break,
                TokenKind::Comma if at_top && stop_at_comma => break,
                // A `}` with no `{` open since the statement began closes the enclosing block.
                TokenKind::RBrace if !open.contains(&TokenKind::LBrace) => break,
                kind => track_open(&mut open, &kind.clone()),
            }
            self.advance();
        }
        if self.pos == start && !matches!(self.peek(), TokenKind::Eof | TokenKind::RBrace) {
            self.advance();
        }
    }

    // ----- Statements -----

    /// Parses statements up to the end of input, or up to (not including) the closing `}` of a block.
    fn parse_stmts(&mut self, in_block: bool) -> Vec<Stmt> {
        let mut stmts = Vec::new();
        loop {
            while matches!(self.peek(), TokenKind::Newline | TokenKind::Semicolon) {
                self.advance();
            }
            match self.peek() {
                TokenKind::Eof => break,
                TokenKind::RBrace if in_block => break,
                TokenKind::RBrace => {
                    let span = self.advance().span;
                    self.error_at(span, "unexpected '}'");
                    continue;
                }
                _ => {}
            }
            let start = self.pos;
            let result = self.parse_stmt().and_then(|stmt| {
                let ended = self.expect_stmt_end(&stmt, start);
                stmts.push(stmt);
                ended
            });
            if result.is_err() {
                self.synchronize(start, false);
            }
        }
        stmts
    }

    /// Checks that a statement is followed by a newline, `;`, `}` or the end of input. A statement
    /// that ends with a block (`fn`, `class`, `if`, `while`, ...) may be followed by another directly.
    fn expect_stmt_end(&mut self, stmt: &Stmt, start: usize) -> PResult<()> {
        if matches!(
            self.peek(),
            TokenKind::Newline | TokenKind::Semicolon | TokenKind::RBrace | TokenKind::Eof
        ) {
            return Ok(());
        }
        let after_brace = self.pos > 0 && self.tokens[self.pos - 1].kind == TokenKind::RBrace;
        let block_like = match &stmt.kind {
            StmtKind::Fn(_) | StmtKind::Class(_) => true,
            StmtKind::Expr(expr) => matches!(
                expr.kind,
                ExprKind::If { .. }
                    | ExprKind::While { .. }
                    | ExprKind::For { .. }
                    | ExprKind::Match { .. }
                    | ExprKind::Try { .. }
                    | ExprKind::Scope { .. }
                    | ExprKind::Select { .. }
                    | ExprKind::Block(_)
            ),
            _ => false,
        };
        if after_brace && block_like {
            return Ok(());
        }
        // A comment written with one blank on each side of `//` reads as floor division (see
        // `lexer.rs`), leaving its words as stray tokens: say so rather than only "expected newline".
        let divided = self.tokens[start..self.pos]
            .iter()
            .any(|t| t.kind == TokenKind::SlashSlash);
        if divided {
            return Err(self.expected(&format!(
                "newline or ';' after statement; {FLOOR_DIVISION_HINT}"
            )));
        }
        Err(self.expected("newline or ';' after statement"))
    }

    fn parse_stmt(&mut self) -> PResult<Stmt> {
        match self.peek() {
            TokenKind::Let => self.parse_let(),
            TokenKind::Const => self.parse_const(),
            TokenKind::Fn => self.parse_fn_stmt(),
            TokenKind::Async if *self.peek_at(1) == TokenKind::Fn => self.parse_fn_stmt(),
            TokenKind::Class => self.parse_class(),
            TokenKind::Import => self.parse_import(),
            TokenKind::LBrace => {
                let block = self.parse_block("'{'")?;
                let span = block.span;
                Ok(Stmt {
                    kind: StmtKind::Expr(Expr {
                        kind: ExprKind::Block(block),
                        span,
                    }),
                    span,
                })
            }
            _ => {
                let expr = self.parse_expr()?;
                Ok(Stmt {
                    span: expr.span,
                    kind: StmtKind::Expr(expr),
                })
            }
        }
    }

    /// `let pattern = value` or `let name`.
    fn parse_let(&mut self) -> PResult<Stmt> {
        let start = self.advance().span;
        let pattern = self.parse_pattern()?;
        let value = if self.eat(&TokenKind::Eq) {
            Some(self.parse_expr()?)
        } else if matches!(pattern.kind, PatternKind::Bind(_)) && self.at_stmt_end() {
            None
        } else {
            return Err(self.expected("'=' after pattern"));
        };
        let span = self.span_from(start);
        Ok(Stmt {
            kind: StmtKind::Let {
                pattern,
                value,
                is_const: false,
            },
            span,
        })
    }

    fn at_stmt_end(&self) -> bool {
        matches!(
            self.peek(),
            TokenKind::Newline | TokenKind::Semicolon | TokenKind::RBrace | TokenKind::Eof
        )
    }

    /// `const NAME = value`.
    fn parse_const(&mut self) -> PResult<Stmt> {
        let start = self.advance().span;
        let name = self.expect_name("constant name after 'const'")?;
        self.expect(&TokenKind::Eq, "'=' after constant name")?;
        let value = self.parse_expr()?;
        let pattern = Pattern {
            span: name.span,
            kind: PatternKind::Bind(name),
        };
        let span = self.span_from(start);
        Ok(Stmt {
            kind: StmtKind::Let {
                pattern,
                value: Some(value),
                is_const: true,
            },
            span,
        })
    }

    /// `fn name(params) { body }` or `async fn ...` as a statement.
    fn parse_fn_stmt(&mut self) -> PResult<Stmt> {
        let decl = self.parse_fn_decl()?;
        let span = decl.span;
        Ok(Stmt {
            kind: StmtKind::Fn(Rc::new(decl)),
            span,
        })
    }

    /// A named function: `fn name(params) { body }`, optionally preceded by `async`.
    fn parse_fn_decl(&mut self) -> PResult<FnDecl> {
        let start = self.current().span;
        let is_async = self.eat(&TokenKind::Async);
        self.expect(&TokenKind::Fn, "'fn'")?;
        let name = self.expect_name("function name after 'fn'")?;
        self.expect(&TokenKind::LParen, "'(' after function name")?;
        let params = self.parse_params(&TokenKind::RParen, "')' after parameters")?;
        let body = self.parse_block("'{' before function body")?;
        let span = self.span_from(start);
        Ok(FnDecl {
            name: Some(name),
            params,
            body,
            is_async,
            span,
        })
    }

    /// Parses parameters after the opening `(` or `|`, through the closing token `close`.
    fn parse_params(&mut self, close: &TokenKind, close_what: &str) -> PResult<Vec<Param>> {
        let mut params = Vec::new();
        loop {
            self.skip_newlines();
            if self.eat(close) {
                break;
            }
            params.push(self.parse_param()?);
            self.skip_newlines();
            if self.eat(&TokenKind::Comma) {
                continue;
            }
            if self.eat(close) {
                break;
            }
            return Err(self.expected(close_what));
        }
        self.check_rest_params(&params);
        Ok(params)
    }

    /// `name`, `name = default` or `..name`.
    fn parse_param(&mut self) -> PResult<Param> {
        if self.eat(&TokenKind::DotDot) {
            let name = self.expect_name("parameter name after '..'")?;
            if self.at(&TokenKind::Eq) {
                return Err(self.error_here("a rest parameter cannot have a default value"));
            }
            return Ok(Param {
                name,
                default: None,
                rest: true,
            });
        }
        let name = self.expect_name("parameter name")?;
        let default = if self.eat(&TokenKind::Eq) {
            Some(self.parse_expr_bp(expr::OR_BP)?)
        } else {
            None
        };
        Ok(Param {
            name,
            default,
            rest: false,
        })
    }

    /// At most one rest parameter, and it comes last. A duplicate is reported alone, since moving it
    /// would not fix the list.
    fn check_rest_params(&mut self, params: &[Param]) {
        let mut rests = params.iter().enumerate().filter(|(_, param)| param.rest);
        let Some((first_index, first)) = rests.next() else {
            return;
        };
        if let Some((_, second)) = rests.next() {
            self.error_at(second.name.span, "only one rest parameter is allowed");
        } else if first_index + 1 != params.len() {
            self.error_at(first.name.span, "rest parameter must be last");
        }
    }

    /// `class Name { fn init(..) {..} fn method(..) {..} }`.
    fn parse_class(&mut self) -> PResult<Stmt> {
        let start = self.advance().span;
        let name = self.expect_name("class name after 'class'")?;
        self.expect(&TokenKind::LBrace, "'{' after class name")?;
        let mut methods = Vec::new();
        loop {
            while matches!(self.peek(), TokenKind::Newline | TokenKind::Semicolon) {
                self.advance();
            }
            match self.peek() {
                TokenKind::RBrace => break,
                TokenKind::Eof => return Err(self.expected("'}' to close class")),
                _ => {}
            }
            let member_start = self.pos;
            let is_fn = self.at(&TokenKind::Fn)
                || (self.at(&TokenKind::Async) && *self.peek_at(1) == TokenKind::Fn);
            let result = if is_fn {
                self.parse_fn_decl()
            } else {
                Err(self.expected("'fn' in class body"))
            };
            match result {
                Ok(decl) => methods.push(Rc::new(decl)),
                Err(Reported) => self.synchronize(member_start, false),
            }
        }
        self.advance();
        let span = self.span_from(start);
        Ok(Stmt {
            kind: StmtKind::Class(Rc::new(ClassDecl {
                name,
                methods,
                span,
            })),
            span,
        })
    }

    /// `import fs`, `import json as j`, `import "./util.weft" as util`.
    fn parse_import(&mut self) -> PResult<Stmt> {
        let start = self.advance().span;
        let source = match self.peek().clone() {
            TokenKind::Ident(text) => ImportSource::Module(Name {
                text,
                span: self.advance().span,
            }),
            TokenKind::Str(path) => ImportSource::File {
                path,
                span: self.advance().span,
            },
            _ => return Err(self.expected("module name or file path after 'import'")),
        };
        let alias = if self.eat(&TokenKind::As) {
            Some(self.expect_name("name after 'as'")?)
        } else {
            None
        };
        if let (ImportSource::File { span, .. }, None) = (&source, &alias) {
            let span = *span;
            self.error_at(span, "file import needs 'as name'");
        }
        let span = self.span_from(start);
        Ok(Stmt {
            kind: StmtKind::Import { source, alias },
            span,
        })
    }

    /// `{ stmts }`. `what` names the expected `{` for the diagnostic, e.g. `'{' after if condition`.
    fn parse_block(&mut self, what: &str) -> PResult<Block> {
        if !self.at(&TokenKind::LBrace) {
            return Err(self.expected(what));
        }
        let open = self.advance().span;
        let saved_depth = self.depth;
        let saved_no_map = std::mem::replace(&mut self.no_map, false);
        let result = match self.deepen() {
            Ok(()) => Ok(self.parse_stmts(true)),
            Err(reported) => Err(reported),
        };
        self.depth = saved_depth;
        self.no_map = saved_no_map;
        let stmts = result?;
        if !self.at(&TokenKind::RBrace) {
            return Err(self.expected("'}' to close block"));
        }
        self.advance();
        Ok(Block {
            stmts,
            span: self.span_from(open),
        })
    }
}

/// Updates the stack of open brackets for one skipped token. A closer pops up to its opener (or does
/// nothing when there is none), so stray closers cannot end the skip early.
fn track_open(open: &mut Vec<TokenKind>, kind: &TokenKind) {
    let opener = match kind {
        TokenKind::LParen | TokenKind::LBracket | TokenKind::LBrace => {
            return open.push(kind.clone())
        }
        TokenKind::StrHead(_) => return open.push(TokenKind::StrHead("".into())),
        TokenKind::RParen => TokenKind::LParen,
        TokenKind::RBracket => TokenKind::LBracket,
        TokenKind::RBrace => TokenKind::LBrace,
        TokenKind::StrTail(_) => TokenKind::StrHead("".into()),
        _ => return,
    };
    if let Some(index) = open.iter().rposition(|o| *o == opener) {
        open.truncate(index);
    }
}
