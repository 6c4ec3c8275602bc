//! Weft's front end: source spans, diagnostics, tokens, the lexer, the Pratt parser and the AST.
//!
//! The parser never fails and never panics: [`parse`] returns the program it could build plus every
//! diagnostic it found, recovering at statement boundaries.

pub mod ast;
mod diagnostic;
mod lexer;
mod parser;
mod span;
mod token;

pub use diagnostic::Diagnostic;
pub use lexer::{is_incomplete, lex};
pub use parser::parse;
pub use span::{SourceFile, Span};
pub use token::{Token, TokenKind};
