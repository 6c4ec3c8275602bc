//! The lexer: turns source text into [`Token`]s, resolving escapes, interpolation and line layout.
//!
//! Lexing happens in two passes. The first pass ([`Lexer`]) produces tokens and records, for each token,
//! whether a line break came before it. The second pass ([`apply_layout`]) decides which of those line
//! breaks end a statement and inserts a [`TokenKind::Newline`] token for each of them. A line break does
//! not end a statement:
//! - inside `(...)`, `[...]` or a `${...}` interpolation (inside `{...}` it does: blocks are made of lines,
//!   and the parser skips line breaks itself where a map literal or a match needs it);
//! - after a token that cannot end an expression: a binary or assignment operator, `,`, `.`, `..`, `..=`,
//!   `=>`, `->` (see [`TokenKind::continues_line`]);
//! - when the next line starts with `.` (a method chain).
//!
//! One recovery rule: a line that starts with `let`, `const`, `fn`, `class` or `import` closes any
//! `(` or `[` still open, since those keywords cannot occur inside them; the parser then reports the
//! missing bracket and carries on with the declaration.
//!
//! Blank lines and comment-only lines produce nothing; a block comment that spans lines counts as a line
//! break.
//!
//! # Interpolation
//! `"a ${x} b"` becomes `StrHead("a ")`, the tokens of `x`, then `StrTail(" b")`. The lexer keeps a stack
//! with one entry per open `${`, counting the `{` opened inside it, so that the `}` that closes the
//! interpolation is told apart from one that closes a map or block inside it.
//!
//! # The `//` ambiguity
//! `//` is both the floor-division operator and the line-comment opener. It is floor division only when
//! all of these hold, and a comment otherwise:
//! 1. the previous token is on the same line and ends an operand (an identifier, a literal, `)`, `]`, `}`,
//!    `self`, `nil`, `true` or `false`);
//! 2. the number of spaces and tabs directly before `//` is at most one and equal to the number directly
//!    after it, so `a // b` and `a//b` divide while `print(x)   // 5.0` is a comment;
//! 3. after the blanks following `//`, the next character can begin an operand (a digit, an identifier
//!    start, `(`, `[`, `-` or `"`);
//! 4. the text after `//` is not a word immediately followed by `:`, so `print(x) // expect: 5` and
//!    `x // note: ...` are comments.
//!
//! 5. the previous token is not a string, `}`, `nil`, `true` or `false` (dividing those can only fail);
//! 6. the rest of the line does not read as prose: two words in a row (`see below`, `end loop`), or a
//!    character no expression contains (`'`, `?`, `` ` ``, `!` without `=`), make it a comment.
//!
//! `//=` is the compound assignment when condition 1 holds and at most one blank precedes it.
//! What remains ambiguous is a one-word comment with one blank on each side, `f(x) // done`: that divides.
//! Put two spaces before a trailing comment, or a colon after its first word. The parser adds a hint
//! saying this to the errors such a misread comment causes.

use crate::diagnostic::Diagnostic;
use crate::span::Span;
use crate::token::{keyword, Token, TokenKind};
use std::rc::Rc;
use unicode_ident::{is_xid_continue, is_xid_start};

/// The result of lexing, with the extra facts the parser and [`is_incomplete`] need.
pub(crate) struct Lexed {
    /// The tokens after layout, ending with `Eof`.
    pub tokens: Vec<Token>,
    /// For each token, whether a line break came before it (even one that did not end a statement).
    pub newline_before: Vec<bool>,
    /// Lexical errors.
    pub diagnostics: Vec<Diagnostic>,
    /// The input ended inside a string or a block comment.
    pub unterminated: bool,
}

/// Splits `source` into tokens (ending with [`TokenKind::Eof`]) and reports lexical errors.
///
/// Only line breaks that end a statement appear as [`TokenKind::Newline`] tokens.
pub fn lex(source: &str) -> (Vec<Token>, Vec<Diagnostic>) {
    let lexed = lex_source(source);
    (lexed.tokens, lexed.diagnostics)
}

/// True when `source` ends in the middle of something: inside an open bracket, brace or parenthesis, a
/// string or a block comment, or right after a binary operator (or `,`, `.`, `=`, `=>`). A REPL uses this
/// to ask for another line instead of reporting an error.
pub fn is_incomplete(source: &str) -> bool {
    let lexed = lex_source(source);
    if lexed.unterminated {
        return true;
    }
    let mut open = Vec::new();
    for token in &lexed.tokens {
        let closer = match token.kind {
            TokenKind::LParen => TokenKind::RParen,
            TokenKind::LBracket => TokenKind::RBracket,
            TokenKind::LBrace => TokenKind::RBrace,
            TokenKind::RParen | TokenKind::RBracket | TokenKind::RBrace => {
                // A closer that does not match is an error the user should see now, not a reason to wait.
                if open.pop().as_ref() != Some(&token.kind) {
                    return false;
                }
                continue;
            }
            _ => continue,
        };
        open.push(closer);
    }
    if !open.is_empty() {
        return true;
    }
    let last = lexed
        .tokens
        .iter()
        .rev()
        .find(|t| !matches!(t.kind, TokenKind::Newline | TokenKind::Eof));
    last.is_some_and(|t| t.kind.continues_line())
}

/// Lexes `source` and applies the layout rules.
pub(crate) fn lex_source(source: &str) -> Lexed {
    let mut lexer = Lexer::new(source);
    lexer.run();
    let (tokens, newline_before) = apply_layout(lexer.tokens);
    Lexed {
        tokens,
        newline_before,
        diagnostics: lexer.diagnostics,
        unterminated: lexer.unterminated,
    }
}

/// A token before layout, with the position of the first line break between it and the previous token.
struct RawToken {
    token: Token,
    newline_before: Option<u32>,
}

/// One open `${` interpolation.
struct Interp {
    /// How many `{` opened inside the interpolation are still open.
    braces: u32,
    /// Byte offset of the string's opening quote, for the unterminated-string diagnostic.
    quote: usize,
}

/// The first lexing pass: tokens with line-break information, no layout yet.
struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    tokens: Vec<RawToken>,
    diagnostics: Vec<Diagnostic>,
    interps: Vec<Interp>,
    /// Position of the first line break since the last token.
    pending_newline: Option<u32>,
    unterminated: bool,
    reported_unterminated_string: bool,
}

fn span(start: usize, end: usize) -> Span {
    Span::new(start as u32, end as u32)
}

fn is_ident_start(c: char) -> bool {
    c == '_' || is_xid_start(c)
}

/// Operators and punctuation, longest first so that the first match is the longest.
const PUNCTUATION: &[(&str, TokenKind)] = &[
    ("**=", TokenKind::StarStarEq),
    ("//=", TokenKind::SlashSlashEq),
    ("..=", TokenKind::DotDotEq),
    ("**", TokenKind::StarStar),
    ("//", TokenKind::SlashSlash),
    ("..", TokenKind::DotDot),
    ("==", TokenKind::EqEq),
    ("!=", TokenKind::NotEq),
    ("<=", TokenKind::Le),
    (">=", TokenKind::Ge),
    ("=>", TokenKind::FatArrow),
    ("->", TokenKind::Arrow),
    ("+=", TokenKind::PlusEq),
    ("-=", TokenKind::MinusEq),
    ("*=", TokenKind::StarEq),
    ("/=", TokenKind::SlashEq),
    ("%=", TokenKind::PercentEq),
    ("||", TokenKind::PipePipe),
    ("(", TokenKind::LParen),
    (")", TokenKind::RParen),
    ("[", TokenKind::LBracket),
    ("]", TokenKind::RBracket),
    (",", TokenKind::Comma),
    (".", TokenKind::Dot),
    (":", TokenKind::Colon),
    (";", TokenKind::Semicolon),
    ("|", TokenKind::Pipe),
    ("=", TokenKind::Eq),
    ("<", TokenKind::Lt),
    (">", TokenKind::Gt),
    ("+", TokenKind::Plus),
    ("-", TokenKind::Minus),
    ("*", TokenKind::Star),
    ("/", TokenKind::Slash),
    ("%", TokenKind::Percent),
];

impl<'a> Lexer<'a> {
    fn new(src: &'a str) -> Lexer<'a> {
        Lexer {
            src,
            pos: 0,
            tokens: Vec::new(),
            diagnostics: Vec::new(),
            interps: Vec::new(),
            pending_newline: None,
            unterminated: false,
            reported_unterminated_string: false,
        }
    }

    fn run(&mut self) {
        // A byte order mark is not part of the program.
        if self.src.starts_with('\u{feff}') {
            self.pos = '\u{feff}'.len_utf8();
        }
        loop {
            self.skip_trivia();
            let Some(c) = self.peek() else { break };
            self.lex_token(c);
        }
        self.close_open_strings();
        self.push(TokenKind::Eof, self.src.len(), self.src.len());
    }

    fn peek(&self) -> Option<char> {
        self.src
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
    }

    fn byte_at(&self, offset: usize) -> Option<u8> {
        self.src.as_bytes().get(offset).copied()
    }

    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn push(&mut self, kind: TokenKind, start: usize, end: usize) {
        let newline_before = self.pending_newline.take();
        self.tokens.push(RawToken {
            token: Token {
                kind,
                span: span(start, end),
            },
            newline_before,
        });
    }

    fn error(&mut self, start: usize, end: usize, message: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::new(span(start, end), message));
    }

    fn note_newline(&mut self, at: usize) {
        if self.pending_newline.is_none() {
            self.pending_newline = Some(at as u32);
        }
    }

    /// Skips blanks, line breaks and comments, stopping before a `//` that is floor division.
    fn skip_trivia(&mut self) {
        while let Some(b) = self.byte_at(self.pos) {
            match b {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\n' => {
                    self.note_newline(self.pos);
                    self.pos += 1;
                }
                b'/' if self.byte_at(self.pos + 1) == Some(b'/') => {
                    if self.is_floor_division() {
                        return;
                    }
                    self.skip_line_comment();
                }
                b'/' if self.byte_at(self.pos + 1) == Some(b'*') => self.skip_block_comment(),
                _ => return,
            }
        }
    }

    fn skip_line_comment(&mut self) {
        match self.rest().find('\n') {
            Some(offset) => self.pos += offset,
            None => self.pos = self.src.len(),
        }
    }

    /// Skips a nestable `/* ... */` comment. Scanning by bytes is safe: the bytes compared are ASCII and
    /// never occur inside a multi-byte UTF-8 sequence.
    fn skip_block_comment(&mut self) {
        let start = self.pos;
        let mut depth = 1u32;
        self.pos += 2;
        while depth > 0 {
            match (self.byte_at(self.pos), self.byte_at(self.pos + 1)) {
                (None, _) => {
                    self.error(start, start + 2, "unterminated block comment");
                    self.unterminated = true;
                    return;
                }
                (Some(b'/'), Some(b'*')) => {
                    depth += 1;
                    self.pos += 2;
                }
                (Some(b'*'), Some(b'/')) => {
                    depth -= 1;
                    self.pos += 2;
                }
                (Some(b'\n'), _) => {
                    self.note_newline(self.pos);
                    self.pos += 1;
                }
                _ => self.pos += 1,
            }
        }
    }

    /// Decides whether the `//` at the current position is floor division (see the module docs).
    fn is_floor_division(&self) -> bool {
        let Some(prev) = self.tokens.last() else {
            return false;
        };
        if self.pending_newline.is_some() || !prev.token.kind.ends_operand() {
            return false;
        }
        // Dividing a string, a map/block, nil or a boolean can only fail, so `//` after them is a comment.
        if matches!(
            prev.token.kind,
            TokenKind::Str(_)
                | TokenKind::StrTail(_)
                | TokenKind::RBrace
                | TokenKind::Nil
                | TokenKind::True
                | TokenKind::False
        ) {
            return false;
        }
        let before = self.src.as_bytes()[..self.pos]
            .iter()
            .rev()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        let after_slashes = self.src.get(self.pos + 2..).unwrap_or("");
        if after_slashes.starts_with('=') {
            return before <= 1;
        }
        let after = after_slashes
            .bytes()
            .take_while(|&b| b == b' ' || b == b'\t')
            .count();
        if before > 1 || before != after {
            return false;
        }
        let operand = &after_slashes[after..];
        let Some(first) = operand.chars().next() else {
            return false;
        };
        let line = operand.split('\n').next().unwrap_or("");
        if reads_as_prose(line) {
            return false;
        }
        if is_ident_start(first) {
            let word_len: usize = operand
                .chars()
                .take_while(|&c| is_xid_continue(c))
                .map(char::len_utf8)
                .sum();
            return !operand[word_len..].starts_with(':');
        }
        first.is_ascii_digit() || matches!(first, '(' | '[' | '-' | '"')
    }

    fn lex_token(&mut self, c: char) {
        let start = self.pos;
        match c {
            '0'..='9' => self.lex_number(),
            '"' => {
                self.pos += 1;
                self.lex_string_body(start, start, false);
            }
            'r' if self.byte_at(self.pos + 1) == Some(b'"') => self.lex_raw_string(),
            c if is_ident_start(c) => self.lex_ident(),
            '{' => {
                if let Some(interp) = self.interps.last_mut() {
                    interp.braces += 1;
                }
                self.pos += 1;
                self.push(TokenKind::LBrace, start, self.pos);
            }
            '}' => self.lex_close_brace(),
            _ => self.lex_punctuation(),
        }
    }

    fn lex_close_brace(&mut self) {
        let start = self.pos;
        self.pos += 1;
        match self.interps.last_mut() {
            Some(interp) if interp.braces == 0 => {
                let quote = interp.quote;
                self.interps.pop();
                self.lex_string_body(start, quote, true);
            }
            Some(interp) => {
                interp.braces -= 1;
                self.push(TokenKind::RBrace, start, self.pos);
            }
            None => self.push(TokenKind::RBrace, start, self.pos),
        }
    }

    fn lex_punctuation(&mut self) {
        let start = self.pos;
        let rest = self.rest();
        if let Some((text, kind)) = PUNCTUATION.iter().find(|(text, _)| rest.starts_with(text)) {
            self.pos += text.len();
            self.push(kind.clone(), start, self.pos);
            return;
        }
        // Group a run of unknown characters into one error token with one diagnostic.
        let Some(first) = self.peek() else { return };
        self.pos += first.len_utf8();
        while let Some(c) = self.peek() {
            let known = c.is_whitespace()
                || c.is_alphanumeric()
                || is_ident_start(c)
                || c == '"'
                || c == '{'
                || c == '}'
                || PUNCTUATION
                    .iter()
                    .any(|(text, _)| self.rest().starts_with(text));
            if known {
                break;
            }
            self.pos += c.len_utf8();
        }
        let shown: String = first.escape_debug().collect();
        self.error(
            start,
            start + first.len_utf8(),
            format!("unexpected character '{shown}'"),
        );
        self.push(TokenKind::Error, start, self.pos);
    }

    fn lex_ident(&mut self) {
        let start = self.pos;
        let len: usize = self
            .rest()
            .chars()
            .take_while(|&c| is_xid_continue(c))
            .map(char::len_utf8)
            .sum();
        // The first character is an identifier start, so `len` is at least its length.
        self.pos += len.max(1);
        let text = self.src.get(start..self.pos).unwrap_or("");
        let kind = keyword(text).unwrap_or_else(|| TokenKind::Ident(Rc::from(text)));
        self.push(kind, start, self.pos);
    }

    /// Consumes `[0-9a-zA-Z_]*` and returns it.
    fn take_alnum(&mut self) -> &'a str {
        let start = self.pos;
        while self
            .byte_at(self.pos)
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            self.pos += 1;
        }
        &self.src[start..self.pos]
    }

    fn take_digits(&mut self) {
        while self
            .byte_at(self.pos)
            .is_some_and(|b| b.is_ascii_digit() || b == b'_')
        {
            self.pos += 1;
        }
    }

    fn lex_number(&mut self) {
        let start = self.pos;
        let radix = match (self.byte_at(start), self.byte_at(start + 1)) {
            (Some(b'0'), Some(b'x' | b'X')) => 16,
            (Some(b'0'), Some(b'b' | b'B')) => 2,
            (Some(b'0'), Some(b'o' | b'O')) => 8,
            _ => 10,
        };
        let kind = if radix == 10 {
            self.lex_decimal()
        } else {
            self.lex_radix(radix)
        };
        // A number glued to letters (`12abc`, `1.5x`) is one bad literal rather than two tokens.
        let glued: usize = self
            .rest()
            .chars()
            .take_while(|&c| is_xid_continue(c))
            .map(char::len_utf8)
            .sum();
        let kind = match kind {
            Some(_) if glued > 0 => {
                self.pos += glued;
                self.error(start, self.pos, "invalid number literal");
                TokenKind::Int(0)
            }
            Some(kind) => kind,
            None => TokenKind::Int(0),
        };
        self.push(kind, start, self.pos);
    }

    /// Lexes `0x..`, `0b..` or `0o..`; reports and returns `None` when invalid.
    fn lex_radix(&mut self, radix: u32) -> Option<TokenKind> {
        let start = self.pos;
        self.pos += 2;
        let digits: String = self.take_alnum().chars().filter(|&c| c != '_').collect();
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            self.error(start, self.pos, "invalid number literal");
            return None;
        }
        match i64::from_str_radix(&digits, radix) {
            Ok(value) => Some(TokenKind::Int(value)),
            Err(_) => {
                self.error(start, self.pos, "integer literal is too large");
                None
            }
        }
    }

    /// Lexes a decimal int or float. `1..5` stays an int followed by `..`: a `.` is part of the number
    /// only when a digit follows it.
    fn lex_decimal(&mut self) -> Option<TokenKind> {
        let start = self.pos;
        self.take_digits();
        let mut is_float = false;
        if self.byte_at(self.pos) == Some(b'.')
            && self
                .byte_at(self.pos + 1)
                .is_some_and(|b| b.is_ascii_digit())
        {
            is_float = true;
            self.pos += 1;
            self.take_digits();
        }
        if matches!(self.byte_at(self.pos), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(self.byte_at(self.pos + 1), Some(b'+' | b'-')));
            if self
                .byte_at(self.pos + 1 + sign)
                .is_some_and(|b| b.is_ascii_digit())
            {
                is_float = true;
                self.pos += 1 + sign;
                self.take_digits();
            }
        }
        let text: String = self.src[start..self.pos]
            .chars()
            .filter(|&c| c != '_')
            .collect();
        if is_float {
            return match text.parse::<f64>() {
                Ok(value) => Some(TokenKind::Float(value)),
                Err(_) => {
                    self.error(start, self.pos, "invalid number literal");
                    None
                }
            };
        }
        match text.parse::<i64>() {
            Ok(value) => Some(TokenKind::Int(value)),
            Err(_) => {
                self.error(start, self.pos, "integer literal is too large");
                None
            }
        }
    }

    fn lex_raw_string(&mut self) {
        let start = self.pos;
        let body_start = start + 2;
        let body = self.src.get(body_start..).unwrap_or("");
        let text = match body.find('"') {
            Some(len) => {
                self.pos = body_start + len + 1;
                &body[..len]
            }
            None => {
                self.error(start, body_start, "unterminated string");
                self.unterminated = true;
                self.reported_unterminated_string = true;
                self.pos = self.src.len();
                body
            }
        };
        self.push(TokenKind::Str(Rc::from(text)), start, self.pos);
    }

    /// Lexes string text from the current position (just after `"` or after the `}` ending an
    /// interpolation) to the closing quote or the next `${`. `token_start` is where the token began.
    fn lex_string_body(&mut self, token_start: usize, quote: usize, continuation: bool) {
        let mut text = String::new();
        loop {
            let Some(c) = self.peek() else {
                if !self.reported_unterminated_string {
                    self.error(quote, quote + 1, "unterminated string");
                    self.reported_unterminated_string = true;
                }
                self.unterminated = true;
                let kind = if continuation {
                    TokenKind::StrTail(text.into())
                } else {
                    TokenKind::Str(text.into())
                };
                self.push(kind, token_start, self.pos);
                return;
            };
            match c {
                '"' => {
                    self.pos += 1;
                    let kind = if continuation {
                        TokenKind::StrTail(text.into())
                    } else {
                        TokenKind::Str(text.into())
                    };
                    self.push(kind, token_start, self.pos);
                    return;
                }
                '$' if self.byte_at(self.pos + 1) == Some(b'{') => {
                    self.pos += 2;
                    self.interps.push(Interp { braces: 0, quote });
                    let kind = if continuation {
                        TokenKind::StrMid(text.into())
                    } else {
                        TokenKind::StrHead(text.into())
                    };
                    self.push(kind, token_start, self.pos);
                    return;
                }
                '\\' => self.lex_escape(&mut text),
                c => {
                    text.push(c);
                    self.pos += c.len_utf8();
                }
            }
        }
    }

    /// Lexes one escape sequence starting at the backslash and appends its character to `text`.
    fn lex_escape(&mut self, text: &mut String) {
        let start = self.pos;
        self.pos += 1;
        // At the end of input the string loop reports the unterminated string.
        let Some(c) = self.peek() else { return };
        self.pos += c.len_utf8();
        let resolved = match c {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            '\\' => '\\',
            '"' => '"',
            '0' => '\0',
            '$' => '$',
            'u' => match self.lex_unicode_escape() {
                Some(resolved) => resolved,
                None => {
                    self.error(start, self.pos, "invalid unicode escape");
                    return;
                }
            },
            '\n' | '\r' => {
                self.error(
                    start,
                    start + 1,
                    "unknown escape sequence: '\\' before a line break",
                );
                return;
            }
            other => {
                let shown: String = other.escape_debug().collect();
                self.error(
                    start,
                    self.pos,
                    format!("unknown escape sequence '\\{shown}'"),
                );
                return;
            }
        };
        text.push(resolved);
    }

    /// Lexes the `{1F600}` part of `\u{1F600}`.
    fn lex_unicode_escape(&mut self) -> Option<char> {
        if self.byte_at(self.pos) != Some(b'{') {
            return None;
        }
        self.pos += 1;
        let digits_start = self.pos;
        while self
            .byte_at(self.pos)
            .is_some_and(|b| b.is_ascii_hexdigit())
        {
            self.pos += 1;
        }
        let digits = &self.src[digits_start..self.pos];
        if self.byte_at(self.pos) != Some(b'}') {
            return None;
        }
        self.pos += 1;
        if digits.is_empty() || digits.len() > 6 {
            return None;
        }
        u32::from_str_radix(digits, 16)
            .ok()
            .and_then(char::from_u32)
    }

    /// At the end of input inside `${`, reports the unterminated string (once) and closes every open
    /// interpolation with an empty `StrTail`, so that the parser sees balanced string tokens.
    fn close_open_strings(&mut self) {
        if let Some(innermost) = self.interps.last() {
            if !self.reported_unterminated_string {
                self.error(innermost.quote, innermost.quote + 1, "unterminated string");
                self.reported_unterminated_string = true;
            }
            self.unterminated = true;
        }
        let end = self.src.len();
        for _ in 0..self.interps.len() {
            self.push(TokenKind::StrTail(Rc::from("")), end, end);
        }
        self.interps.clear();
    }
}

/// What a layout-relevant opener is.
#[derive(Clone, Copy, PartialEq)]
enum Open {
    Paren,
    Bracket,
    Brace,
    Interp,
}

/// The second pass: inserts the `Newline` tokens that end statements (see the module docs).
fn apply_layout(raw: Vec<RawToken>) -> (Vec<Token>, Vec<bool>) {
    let mut tokens: Vec<Token> = Vec::with_capacity(raw.len() + raw.len() / 4);
    let mut newline_before = Vec::with_capacity(tokens.capacity());
    let mut open: Vec<Open> = Vec::new();
    for RawToken {
        token,
        newline_before: newline,
    } in raw
    {
        // A declaration keyword never appears inside `(...)` or `[...]` (only inside blocks), so one
        // that starts a line means a bracket was left unclosed: close it here, so that one missing `)`
        // does not glue the rest of the file into one statement and hide every later error.
        let starts_declaration = matches!(
            token.kind,
            TokenKind::Let
                | TokenKind::Const
                | TokenKind::Fn
                | TokenKind::Class
                | TokenKind::Import
        );
        if newline.is_some() && starts_declaration {
            while matches!(open.last(), Some(Open::Paren | Open::Bracket)) {
                open.pop();
            }
        }
        if let Some(at) = newline {
            let after_operand = tokens.last().is_some_and(|t| !t.kind.continues_line());
            let in_block = matches!(open.last(), None | Some(Open::Brace));
            // A declaration keyword starting a line always starts a new statement, even after a
            // dangling operator (`let b = 1 +`), so the error stays on that line and the next
            // statement is still parsed and checked.
            if (after_operand || starts_declaration) && in_block && token.kind != TokenKind::Dot {
                tokens.push(Token {
                    kind: TokenKind::Newline,
                    span: Span::new(at, at + 1),
                });
                newline_before.push(false);
            }
        }
        track_nesting(&mut open, &token.kind);
        tokens.push(token);
        newline_before.push(newline.is_some());
    }
    (tokens, newline_before)
}

/// Updates the stack of open brackets for one token. A closer that does not match the innermost opener
/// closes the nearest matching one, if any, so that one stray bracket does not upset all later layout.
fn track_nesting(open: &mut Vec<Open>, kind: &TokenKind) {
    let closes = match kind {
        TokenKind::LParen => return open.push(Open::Paren),
        TokenKind::LBracket => return open.push(Open::Bracket),
        TokenKind::LBrace => return open.push(Open::Brace),
        TokenKind::StrHead(_) => return open.push(Open::Interp),
        TokenKind::RParen => Open::Paren,
        TokenKind::RBracket => Open::Bracket,
        TokenKind::RBrace => Open::Brace,
        TokenKind::StrTail(_) => Open::Interp,
        _ => return,
    };
    if let Some(index) = open.iter().rposition(|&o| o == closes) {
        open.truncate(index);
    }
}

/// Whether the text after a `//` reads as a comment rather than an expression: two words in a row, or a
/// character that no expression contains. Operator keywords (`and`, `or`, `not`, `in`, `if`, `else`)
/// may sit between words without making it prose.
fn reads_as_prose(line: &str) -> bool {
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if matches!(c, '\'' | '?' | '`') || (c == '!' && chars.peek() != Some(&'=')) {
            return true;
        }
    }
    let mut previous_word: Option<&str> = None;
    let mut rest = line;
    while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
        rest = &rest[start..];
        if rest.starts_with('"') {
            // Skip a string literal as one operand.
            let end = rest[1..].find('"').map_or(rest.len(), |i| i + 2);
            if previous_word.is_some_and(|w| !is_operator_word(w)) {
                return true;
            }
            previous_word = Some("\"\"");
            rest = &rest[end..];
            continue;
        }
        let word_len: usize = rest
            .chars()
            .take_while(|&c| is_xid_continue(c) || c == '.')
            .map(char::len_utf8)
            .sum();
        if word_len == 0 {
            previous_word = None;
            rest = &rest[rest.chars().next().map_or(1, char::len_utf8)..];
            continue;
        }
        let word = &rest[..word_len];
        if let Some(prev) = previous_word {
            if !is_operator_word(prev) && !is_operator_word(word) {
                return true;
            }
        }
        previous_word = Some(word);
        rest = &rest[word_len..];
    }
    false
}

fn is_operator_word(word: &str) -> bool {
    matches!(word, "and" | "or" | "not" | "in" | "if" | "else" | "as")
}
