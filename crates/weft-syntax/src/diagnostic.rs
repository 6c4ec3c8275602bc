//! Compile-time diagnostics and their rendering as `file:line:col: error: message` with a caret.
//!
//! The first line's format is fixed by LANGUAGE.md §5, so rendering is hand-written rather than done
//! by annotate-snippets (whose header line has another shape).

use crate::span::{SourceFile, Span};

/// One compile-time error found by the lexer, parser or compiler.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// Where the problem is.
    pub span: Span,
    /// Lower-case message without a final full stop, e.g. `expected ')' after arguments`.
    pub message: String,
}

impl Diagnostic {
    /// Creates a diagnostic.
    pub fn new(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            span,
            message: message.into(),
        }
    }

    /// Renders the diagnostic: header line, the source line, and a caret line under the span.
    pub fn render(&self, file: &SourceFile) -> String {
        let (line, col) = file.line_col(self.span.start);
        let text = file.line_text(line);
        let gutter = line.to_string();
        let pad = " ".repeat(gutter.len());
        let (end_line, end_col) = file.line_col(self.span.end.max(self.span.start));
        let width = if end_line == line && end_col > col {
            (end_col - col) as usize
        } else {
            1
        };
        let indent: String = text
            .chars()
            .take(col as usize - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        format!(
            "{}:{}:{}: error: {}\n{pad} |\n{gutter} | {text}\n{pad} | {indent}{}\n",
            file.name,
            line,
            col,
            self.message,
            "^".repeat(width)
        )
    }
}
