//! Tokens: what the lexer produces and the parser consumes.
//!
//! A string with interpolation is split into several tokens so that the parser can parse the embedded
//! expressions with its ordinary machinery: `"a ${x} b ${y} c"` becomes `StrHead("a ")`, `Ident(x)`,
//! `StrMid(" b ")`, `Ident(y)`, `StrTail(" c")`. A string without `${` is a single `Str` token.

use crate::span::Span;
use std::fmt;
use std::rc::Rc;

/// One token with its byte span in the source.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    /// What the token is (with its value for literals and identifiers).
    pub kind: TokenKind,
    /// Where it is in the source.
    pub span: Span,
}

/// The kinds of token.
#[derive(Clone, Debug, PartialEq)]
pub enum TokenKind {
    /// An integer literal, already range-checked to fit an `i64`.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// A complete string literal (plain or raw) with escapes resolved.
    Str(Rc<str>),
    /// The start of an interpolated string up to and including the first `${`: `"text${`.
    StrHead(Rc<str>),
    /// The text between two interpolations, from `}` up to and including the next `${`.
    StrMid(Rc<str>),
    /// The end of an interpolated string, from the last `}` up to and including the closing `"`.
    StrTail(Rc<str>),
    /// An identifier that is not a keyword.
    Ident(Rc<str>),

    /// `let`
    Let,
    /// `const`
    Const,
    /// `fn`
    Fn,
    /// `return`
    Return,
    /// `if`
    If,
    /// `else`
    Else,
    /// `while`
    While,
    /// `for`
    For,
    /// `in`
    In,
    /// `break`
    Break,
    /// `continue`
    Continue,
    /// `match`
    Match,
    /// `class`
    Class,
    /// `self`
    SelfKw,
    /// `try`
    Try,
    /// `catch`
    Catch,
    /// `finally`
    Finally,
    /// `throw`
    Throw,
    /// `import`
    Import,
    /// `as`
    As,
    /// `spawn`
    Spawn,
    /// `spawn_detached`
    SpawnDetached,
    /// `spawn_link`
    SpawnLink,
    /// `await`
    Await,
    /// `async`
    Async,
    /// `scope`
    Scope,
    /// `supervisor`
    Supervisor,
    /// `shield`
    Shield,
    /// `select`
    Select,
    /// `receive` (reserved; not supported by the parser yet)
    Receive,
    /// `after` (in `select` cases; reserved for `receive`)
    After,
    /// `true`
    True,
    /// `false`
    False,
    /// `nil`
    Nil,
    /// `and`
    And,
    /// `or`
    Or,
    /// `not`
    Not,

    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `,`
    Comma,
    /// `.`
    Dot,
    /// `..`
    DotDot,
    /// `..=`
    DotDotEq,
    /// `:`
    Colon,
    /// `;`
    Semicolon,
    /// `|`
    Pipe,
    /// `||` (the empty parameter list of a closure)
    PipePipe,
    /// `=>`
    FatArrow,
    /// `->`
    Arrow,
    /// `=`
    Eq,
    /// `==`
    EqEq,
    /// `!=`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Star,
    /// `/`
    Slash,
    /// `//` (floor division; see the lexer for when `//` is a comment instead)
    SlashSlash,
    /// `%`
    Percent,
    /// `**`
    StarStar,
    /// `+=`
    PlusEq,
    /// `-=`
    MinusEq,
    /// `*=`
    StarEq,
    /// `/=`
    SlashEq,
    /// `//=`
    SlashSlashEq,
    /// `%=`
    PercentEq,
    /// `**=`
    StarStarEq,

    /// A statement-ending line break (only those that end a statement are kept; see the lexer).
    Newline,
    /// Text the lexer could not make sense of; a diagnostic has already been reported for it.
    Error,
    /// The end of the input. Always the last token.
    Eof,
}

/// Maps an identifier's text to its keyword token, if it is a keyword.
pub(crate) fn keyword(text: &str) -> Option<TokenKind> {
    use TokenKind::*;
    let kind = match text {
        "let" => Let,
        "const" => Const,
        "fn" => Fn,
        "return" => Return,
        "if" => If,
        "else" => Else,
        "while" => While,
        "for" => For,
        "in" => In,
        "break" => Break,
        "continue" => Continue,
        "match" => Match,
        "class" => Class,
        "self" => SelfKw,
        "try" => Try,
        "catch" => Catch,
        "finally" => Finally,
        "throw" => Throw,
        "import" => Import,
        "as" => As,
        "spawn" => Spawn,
        "spawn_detached" => SpawnDetached,
        "spawn_link" => SpawnLink,
        "await" => Await,
        "async" => Async,
        "scope" => Scope,
        "supervisor" => Supervisor,
        "shield" => Shield,
        "select" => Select,
        "receive" => Receive,
        "after" => After,
        "true" => True,
        "false" => False,
        "nil" => Nil,
        "and" => And,
        "or" => Or,
        "not" => Not,
        _ => return None,
    };
    Some(kind)
}

impl TokenKind {
    /// The source text of a keyword token, or `None` for any other token.
    pub fn keyword_text(&self) -> Option<&'static str> {
        use TokenKind::*;
        let text = match self {
            Let => "let",
            Const => "const",
            Fn => "fn",
            Return => "return",
            If => "if",
            Else => "else",
            While => "while",
            For => "for",
            In => "in",
            Break => "break",
            Continue => "continue",
            Match => "match",
            Class => "class",
            SelfKw => "self",
            Try => "try",
            Catch => "catch",
            Finally => "finally",
            Throw => "throw",
            Import => "import",
            As => "as",
            Spawn => "spawn",
            SpawnDetached => "spawn_detached",
            SpawnLink => "spawn_link",
            Await => "await",
            Async => "async",
            Scope => "scope",
            Supervisor => "supervisor",
            Shield => "shield",
            Select => "select",
            Receive => "receive",
            After => "after",
            True => "true",
            False => "false",
            Nil => "nil",
            And => "and",
            Or => "or",
            Not => "not",
            _ => return None,
        };
        Some(text)
    }

    /// The source text of a punctuation or operator token, or `None` for any other token.
    pub fn punct_text(&self) -> Option<&'static str> {
        use TokenKind::*;
        let text = match self {
            LParen => "(",
            RParen => ")",
            LBracket => "[",
            RBracket => "]",
            LBrace => "{",
            RBrace => "}",
            Comma => ",",
            Dot => ".",
            DotDot => "..",
            DotDotEq => "..=",
            Colon => ":",
            Semicolon => ";",
            Pipe => "|",
            PipePipe => "||",
            FatArrow => "=>",
            Arrow => "->",
            Eq => "=",
            EqEq => "==",
            NotEq => "!=",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            Plus => "+",
            Minus => "-",
            Star => "*",
            Slash => "/",
            SlashSlash => "//",
            Percent => "%",
            StarStar => "**",
            PlusEq => "+=",
            MinusEq => "-=",
            StarEq => "*=",
            SlashEq => "/=",
            SlashSlashEq => "//=",
            PercentEq => "%=",
            StarStarEq => "**=",
            _ => return None,
        };
        Some(text)
    }

    /// True for tokens after which a line break does not end the statement: binary operators,
    /// assignment operators, `,`, `.`, `..`, `..=`, `=>` and `->`.
    pub fn continues_line(&self) -> bool {
        use TokenKind::*;
        matches!(
            self,
            Plus | Minus
                | Star
                | Slash
                | SlashSlash
                | Percent
                | StarStar
                | EqEq
                | NotEq
                | Lt
                | Le
                | Gt
                | Ge
                | And
                | Or
                | Eq
                | PlusEq
                | MinusEq
                | StarEq
                | SlashEq
                | SlashSlashEq
                | PercentEq
                | StarStarEq
                | DotDot
                | DotDotEq
                | Comma
                | Dot
                | FatArrow
                | Arrow
        )
    }

    /// True for tokens that end an operand (so that a following `//` may be floor division).
    pub(crate) fn ends_operand(&self) -> bool {
        use TokenKind::*;
        matches!(
            self,
            Int(_)
                | Float(_)
                | Str(_)
                | StrTail(_)
                | Ident(_)
                | RParen
                | RBracket
                | RBrace
                | SelfKw
                | Nil
                | True
                | False
        )
    }
}

/// Describes a token the way diagnostics quote it: `'+'`, `'let'`, `identifier`, `newline`.
impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(text) = self.keyword_text().or_else(|| self.punct_text()) {
            return write!(f, "'{text}'");
        }
        let text = match self {
            TokenKind::Int(_) | TokenKind::Float(_) => "number",
            TokenKind::Str(_) | TokenKind::StrHead(_) => "string",
            TokenKind::StrMid(_) | TokenKind::StrTail(_) => "string",
            TokenKind::Ident(_) => "identifier",
            TokenKind::Newline => "newline",
            TokenKind::Error => "invalid token",
            _ => "end of file",
        };
        f.write_str(text)
    }
}
