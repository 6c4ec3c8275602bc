//! Helpers shared by the syntax tests: compact dumps of tokens and ASTs, so snapshots stay readable.
//!
//! The AST dump is an S-expression: `(+ 1 (* 2 3))`, `(let x 1)`, `(call f 1 (named p "low"))`. Spans
//! are left out (the full `Debug` form is snapshotted separately for a few programs); `()` stands for
//! an absent part such as the end of an open range.

#![allow(dead_code)]

use weft_syntax::ast::*;
use weft_syntax::{lex, parse, Diagnostic, SourceFile, TokenKind};

/// One token per line: `kind start..end`.
pub fn dump_tokens(source: &str) -> String {
    let (tokens, diagnostics) = lex(source);
    let mut out = String::new();
    for token in &tokens {
        out += &format!(
            "{:?} {}..{}\n",
            token.kind, token.span.start, token.span.end
        );
    }
    for diagnostic in &diagnostics {
        out += &format!(
            "error {}..{}: {}\n",
            diagnostic.span.start, diagnostic.span.end, diagnostic.message
        );
    }
    out
}

/// The token kinds only, space separated, without `Eof` (for short assertions).
pub fn kinds(source: &str) -> String {
    let (tokens, _) = lex(source);
    tokens
        .iter()
        .filter(|t| t.kind != TokenKind::Eof)
        .map(|t| match &t.kind {
            TokenKind::Ident(text) => text.to_string(),
            TokenKind::Int(value) => value.to_string(),
            TokenKind::Newline => "NL".to_string(),
            kind => kind
                .keyword_text()
                .or(kind.punct_text())
                .map_or_else(|| format!("{kind:?}"), str::to_string),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses `source`, asserts there are no diagnostics, and dumps each statement on its own line.
pub fn sexpr(source: &str) -> String {
    let (program, diagnostics) = parse(source);
    assert!(
        diagnostics.is_empty(),
        "unexpected diagnostics for {source:?}: {diagnostics:#?}"
    );
    program
        .stmts
        .iter()
        .map(stmt)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Parses a single expression statement and dumps it.
pub fn expr_sexpr(source: &str) -> String {
    sexpr(source)
}

/// Renders every diagnostic for `source` as the CLI would show it.
pub fn render_diagnostics(source: &str) -> String {
    let (_, diagnostics) = parse(source);
    render(source, &diagnostics)
}

pub fn render(source: &str, diagnostics: &[Diagnostic]) -> String {
    let file = SourceFile::new("test.weft", source);
    diagnostics
        .iter()
        .map(|d| d.render(&file))
        .collect::<Vec<_>>()
        .join("")
}

pub fn stmt(stmt: &Stmt) -> String {
    match &stmt.kind {
        StmtKind::Let {
            pattern: p,
            value,
            is_const,
        } => {
            let keyword = if *is_const { "const" } else { "let" };
            match value {
                Some(value) => format!("({keyword} {} {})", pattern(p), expr(value)),
                None => format!("({keyword} {})", pattern(p)),
            }
        }
        StmtKind::Fn(decl) => fn_decl(decl),
        StmtKind::Class(class) => {
            let methods: Vec<String> = class.methods.iter().map(|m| fn_decl(m)).collect();
            format!("(class {} {})", class.name.text, methods.join(" "))
        }
        StmtKind::Import { source, alias } => {
            let source = match source {
                ImportSource::Module(name) => name.text.to_string(),
                ImportSource::File { path, .. } => format!("{path:?}"),
            };
            match alias {
                Some(alias) => format!("(import {source} as {})", alias.text),
                None => format!("(import {source})"),
            }
        }
        StmtKind::Expr(e) => expr(e),
    }
}

fn fn_decl(decl: &FnDecl) -> String {
    let keyword = if decl.is_async { "async fn" } else { "fn" };
    let name = decl.name.as_ref().map_or("", |n| &n.text);
    let params: Vec<String> = decl
        .params
        .iter()
        .map(|p| match (&p.default, p.rest) {
            (_, true) => format!("..{}", p.name.text),
            (Some(default), false) => format!("({} = {})", p.name.text, expr(default)),
            (None, false) => p.name.text.to_string(),
        })
        .collect();
    format!(
        "({keyword} {name}({}) {})",
        params.join(" "),
        block(&decl.body)
    )
}

pub fn block(b: &Block) -> String {
    let mut out = String::from("(block");
    for s in &b.stmts {
        out += " ";
        out += &stmt(s);
    }
    out + ")"
}

fn binop(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::FloorDiv => "//",
        BinOp::Mod => "%",
        BinOp::Pow => "**",
        BinOp::Eq => "==",
        BinOp::Ne => "!=",
        BinOp::Lt => "<",
        BinOp::Le => "<=",
        BinOp::Gt => ">",
        BinOp::Ge => ">=",
    }
}

fn opt(e: &Option<Box<Expr>>) -> String {
    e.as_ref().map_or_else(|| "()".to_string(), |e| expr(e))
}

pub fn expr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Nil => "nil".into(),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Int(i) => i.to_string(),
        ExprKind::Float(f) => format!("{f:?}"),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Interp(parts) => {
            let parts: Vec<String> = parts
                .iter()
                .map(|p| match p {
                    InterpPart::Lit(s) => format!("{s:?}"),
                    InterpPart::Expr(e) => expr(e),
                })
                .collect();
            format!("(interp {})", parts.join(" "))
        }
        ExprKind::Ident(name) => name.to_string(),
        ExprKind::SelfRef => "self".into(),
        ExprKind::List(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|i| match i {
                    ListItem::Item(e) => expr(e),
                    ListItem::Spread(e) => format!("(spread {})", expr(e)),
                })
                .collect();
            format!("(list {})", items.join(" ")).replace("(list )", "(list)")
        }
        ExprKind::Map(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|i| match i {
                    MapItem::Pair { key, value } => format!("({} {})", expr(key), expr(value)),
                    MapItem::Spread(e) => format!("(spread {})", expr(e)),
                })
                .collect();
            format!("(map {})", items.join(" ")).replace("(map )", "(map)")
        }
        ExprKind::Range {
            start,
            end,
            inclusive,
        } => {
            format!(
                "({} {} {})",
                if *inclusive { "..=" } else { ".." },
                opt(start),
                opt(end)
            )
        }
        ExprKind::Unary { op, expr: e } => {
            format!(
                "({} {})",
                if *op == UnaryOp::Neg { "neg" } else { "not" },
                expr(e)
            )
        }
        ExprKind::Binary { op, lhs, rhs } => {
            format!("({} {} {})", binop(*op), expr(lhs), expr(rhs))
        }
        ExprKind::Logical { op, lhs, rhs } => {
            format!(
                "({} {} {})",
                if *op == LogicalOp::And { "and" } else { "or" },
                expr(lhs),
                expr(rhs)
            )
        }
        ExprKind::Assign { target, op, value } => {
            let op = op.map_or_else(|| "=".to_string(), |op| format!("{}=", binop(op)));
            format!("({op} {} {})", expr(target), expr(value))
        }
        ExprKind::Call { callee, args } => {
            let mut out = format!("(call {}", expr(callee));
            for arg in args {
                out += " ";
                out += &match arg {
                    Arg::Positional(e) => expr(e),
                    Arg::Named { name, value } => format!("(named {} {})", name.text, expr(value)),
                    Arg::Spread(e) => format!("(spread {})", expr(e)),
                };
            }
            out + ")"
        }
        ExprKind::Field { object, name } => format!("(. {} {})", expr(object), name.text),
        ExprKind::Index { object, index } => format!("(index {} {})", expr(object), expr(index)),
        ExprKind::Closure(decl) => fn_decl(decl).replacen("fn (", "closure (", 1),
        ExprKind::Block(b) => block(b),
        ExprKind::If { cond, then, else_ } => match else_ {
            Some(e) => format!("(if {} {} {})", expr(cond), block(then), expr(e)),
            None => format!("(if {} {})", expr(cond), block(then)),
        },
        ExprKind::While { cond, body } => format!("(while {} {})", expr(cond), block(body)),
        ExprKind::For {
            pattern: p,
            iterable,
            body,
        } => {
            format!("(for {} {} {})", pattern(p), expr(iterable), block(body))
        }
        ExprKind::Break => "break".into(),
        ExprKind::Continue => "continue".into(),
        ExprKind::Return(value) => match value {
            Some(v) => format!("(return {})", expr(v)),
            None => "(return)".into(),
        },
        ExprKind::Throw(value) => format!("(throw {})", expr(value)),
        ExprKind::Receive { arms, after } => {
            let mut out = "(receive".to_string();
            out += &arms_sexpr(arms);
            if let Some(after) = after {
                out += &format!(" (after {} {})", expr(&after.0), expr(&after.1));
            }
            out + ")"
        }
        ExprKind::Match { subject, arms } => {
            let mut out = format!("(match {}", expr(subject));
            out += &arms_sexpr(arms);
            out + ")"
        }
        ExprKind::Try {
            body,
            catches,
            finally,
        } => {
            let mut out = format!("(try {}", block(body));
            for c in catches {
                out += " (catch";
                if let Some(name) = &c.name {
                    out += &format!(" {}", name.text);
                }
                if let Some(guard) = &c.guard {
                    out += &format!(" (if {})", expr(guard));
                }
                out += &format!(" {})", block(&c.body));
            }
            if let Some(f) = finally {
                out += &format!(" (finally {})", block(f));
            }
            out + ")"
        }
        ExprKind::Spawn { kind, expr: e } => {
            let keyword = match kind {
                SpawnKind::Child => "spawn",
                SpawnKind::Detached => "spawn_detached",
                SpawnKind::Link => "spawn_link",
            };
            format!("({keyword} {})", expr(e))
        }
        ExprKind::Await(e) => format!("(await {})", expr(e)),
        ExprKind::Scope { kind, name, body } => {
            let keyword = match kind {
                ScopeKind::Scope => "scope",
                ScopeKind::Supervisor => "supervisor",
                ScopeKind::Shield => "shield",
            };
            match name {
                Some(name) => format!("({keyword} |{}| {})", name.text, block(body)),
                None => format!("({keyword} {})", block(body)),
            }
        }
        ExprKind::Select { cases } => {
            let mut out = String::from("(select");
            for case in cases {
                let bound = |binding: &Option<Name>| {
                    binding
                        .as_ref()
                        .map_or_else(String::new, |n| format!(" {} =", n.text))
                };
                let op = match &case.op {
                    SelectOp::Recv {
                        binding,
                        channel,
                        ok,
                    } => {
                        let method = if *ok { "recv_ok" } else { "recv" };
                        format!("({method}{} {})", bound(binding), expr(channel))
                    }
                    SelectOp::Send { channel, value } => {
                        format!("(send {} {})", expr(channel), expr(value))
                    }
                    SelectOp::Await { binding, task } => {
                        format!("(await{} {})", bound(binding), expr(task))
                    }
                    SelectOp::After { ms } => format!("(after {})", expr(ms)),
                    SelectOp::Default => "default".to_string(),
                };
                out += &format!(" (case {op} {})", expr(&case.body));
            }
            out + ")"
        }
    }
}

pub fn pattern(p: &Pattern) -> String {
    match &p.kind {
        PatternKind::Wildcard => "_".into(),
        PatternKind::Bind(name) => name.text.to_string(),
        PatternKind::Literal(e) => format!("(lit {})", expr(e)),
        PatternKind::List {
            before,
            rest,
            after,
        } => {
            let mut parts: Vec<String> = before.iter().map(pattern).collect();
            if let Some(rest) = rest {
                parts.push(match rest {
                    Some(name) => format!("..{}", name.text),
                    None => "..".into(),
                });
            }
            parts.extend(after.iter().map(pattern));
            format!("[{}]", parts.join(" "))
        }
        PatternKind::Map(entries) => {
            let entries: Vec<String> = entries
                .iter()
                .map(|(k, p)| format!("{k:?}: {}", pattern(p)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        PatternKind::Or(alternatives) => {
            let alternatives: Vec<String> = alternatives.iter().map(pattern).collect();
            format!("(| {})", alternatives.join(" "))
        }
    }
}

/// ` (arm pattern [(if guard)] body)` for each match arm or receive clause.
fn arms_sexpr(arms: &[MatchArm]) -> String {
    let mut out = String::new();
    for arm in arms {
        out += &match &arm.guard {
            Some(guard) => format!(
                " (arm {} (if {}) {})",
                pattern(&arm.pattern),
                expr(guard),
                expr(&arm.body)
            ),
            None => format!(" (arm {} {})", pattern(&arm.pattern), expr(&arm.body)),
        };
    }
    out
}
