//! The abstract syntax tree produced by the parser and consumed by the compiler.
//!
//! Weft is expression-oriented: blocks, `if`, `match`, `try` and loops are expressions. Statements are
//! only the forms that bind names (`let`, `const`, `fn`, `class`, `import`) plus expression statements.
//! Every node carries a [`Span`] so the compiler and the VM can point at source positions.

use crate::span::Span;
use std::rc::Rc;

/// An identifier occurrence.
#[derive(Clone, Debug, PartialEq)]
pub struct Name {
    /// The identifier text.
    pub text: Rc<str>,
    /// Where it occurs.
    pub span: Span,
}

/// A whole file: its top-level statements.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    /// Top-level statements in order.
    pub stmts: Vec<Stmt>,
}

/// A statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    /// What kind of statement.
    pub kind: StmtKind,
    /// The whole statement.
    pub span: Span,
}

/// The statement forms.
#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// `let pattern = value` or `const NAME = value` (`is_const`); `let x` alone binds nil (`value: None`).
    Let {
        pattern: Pattern,
        value: Option<Expr>,
        is_const: bool,
    },
    /// A named function declaration `fn name(params) { body }` (or `async fn`).
    Fn(Rc<FnDecl>),
    /// `class Name { fn init(..) {..} fn method(..) {..} }`.
    Class(Rc<ClassDecl>),
    /// `import fs`, `import json as j`, `import "./util.weft" as util`.
    Import {
        source: ImportSource,
        alias: Option<Name>,
    },
    /// An expression evaluated for its effect (and, as the last statement of a block, its value).
    Expr(Expr),
}

/// What an `import` names.
#[derive(Clone, Debug, PartialEq)]
pub enum ImportSource {
    /// A standard-library module by name (`import fs`); binds `fs` unless aliased.
    Module(Name),
    /// A file path relative to the importing file (`import "./util.weft" as util`); needs an alias.
    File { path: Rc<str>, span: Span },
}

/// A function: named declaration, method, or closure literal.
#[derive(Clone, Debug, PartialEq)]
pub struct FnDecl {
    /// The name; `None` for closures `|x| ...`.
    pub name: Option<Name>,
    /// Parameters in order. At most one has `rest`, and it is last.
    pub params: Vec<Param>,
    /// The body. A closure with an expression body `|x| x + 1` has a block holding one expression statement.
    pub body: Block,
    /// `async fn`: calling it spawns a task running the body.
    pub is_async: bool,
    /// From `fn` (or `|`) to the end of the body.
    pub span: Span,
}

/// A function parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// The parameter name.
    pub name: Name,
    /// Default value expression, evaluated at call time when the argument is missing.
    pub default: Option<Expr>,
    /// `..name`: collects the remaining positional arguments into a list.
    pub rest: bool,
}

/// A class declaration. Methods see the instance as `self`; `init` is the constructor.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassDecl {
    /// The class name.
    pub name: Name,
    /// Methods in source order (including `init`).
    pub methods: Vec<Rc<FnDecl>>,
    /// The whole declaration.
    pub span: Span,
}

/// `{ stmts }`. Its value is the value of the last statement when that is an expression statement, else nil.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    /// Statements in order.
    pub stmts: Vec<Stmt>,
    /// From `{` to `}` (or the expression, for closure expression bodies).
    pub span: Span,
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What kind of expression.
    pub kind: ExprKind,
    /// The whole expression.
    pub span: Span,
}

/// The expression forms.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// `nil`.
    Nil,
    /// `true` / `false`.
    Bool(bool),
    /// An integer literal (already range-checked by the lexer).
    Int(i64),
    /// A float literal.
    Float(f64),
    /// A string literal with escapes resolved (plain or raw).
    Str(Rc<str>),
    /// An interpolated string `"a ${x} b"`: literal and expression parts in order.
    Interp(Vec<InterpPart>),
    /// A variable reference.
    Ident(Rc<str>),
    /// `self` inside a method.
    SelfRef,
    /// `[a, ..xs, b]`.
    List(Vec<ListItem>),
    /// `{"a": 1, b: 2, ..other}`.
    Map(Vec<MapItem>),
    /// `a..b`, `a..=b`, and the open forms `..b`, `a..`, `..` (used in slices).
    Range {
        start: Option<Box<Expr>>,
        end: Option<Box<Expr>>,
        inclusive: bool,
    },
    /// `-x`, `not x`.
    Unary { op: UnaryOp, expr: Box<Expr> },
    /// Arithmetic and comparison operators.
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// Short-circuit `and` / `or`.
    Logical {
        op: LogicalOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `target = value` or a compound `target += value` (`op: Some(Add)`); the value of the expression is nil.
    Assign {
        target: Box<Expr>,
        op: Option<BinOp>,
        value: Box<Expr>,
    },
    /// `callee(args)`. A callee of kind `Field` is a method call.
    Call { callee: Box<Expr>, args: Vec<Arg> },
    /// `object.name`.
    Field { object: Box<Expr>, name: Name },
    /// `object[index]` (a `Range` index is a slice).
    Index { object: Box<Expr>, index: Box<Expr> },
    /// A closure literal `|params| body` (or `async |params| body`).
    Closure(Rc<FnDecl>),
    /// `{ ... }` in statement position, after `=>` or as a closure body.
    Block(Block),
    /// `if cond { } else if .. { } else { }`; `else_` is a `Block` or another `If` expression.
    If {
        cond: Box<Expr>,
        then: Block,
        else_: Option<Box<Expr>>,
    },
    /// `while cond { body }`; value nil.
    While { cond: Box<Expr>, body: Block },
    /// `for pattern in iterable { body }`; value nil.
    For {
        pattern: Pattern,
        iterable: Box<Expr>,
        body: Block,
    },
    /// `break`.
    Break,
    /// `continue`.
    Continue,
    /// `return` or `return value`.
    Return(Option<Box<Expr>>),
    /// `throw value`.
    Throw(Box<Expr>),
    /// `match subject { arms }`.
    Match {
        subject: Box<Expr>,
        arms: Vec<MatchArm>,
    },
    /// `try { } catch e if guard { } ... finally { }`; at least one catch or a finally.
    Try {
        body: Block,
        catches: Vec<CatchClause>,
        finally: Option<Block>,
    },
    /// `spawn expr` or `spawn { block }` (the block is an `ExprKind::Block`); also `spawn_detached`
    /// and `spawn_link`, told apart by `kind`.
    Spawn { kind: SpawnKind, expr: Box<Expr> },
    /// `await expr`.
    Await(Box<Expr>),
    /// `scope { }`, `scope |s| { }`, `supervisor { }`, `supervisor |s| { }` or `shield { }`; its value
    /// is the block's value. `name` is the optional `|s|` binding the scope object (never for `shield`).
    Scope {
        kind: ScopeKind,
        name: Option<Name>,
        body: Block,
    },
    /// `select { case => body, ... }`: cases in source order.
    Select { cases: Vec<SelectCase> },
    /// `receive { pattern [if guard] => body, ..., after ms => body }`: takes the oldest message of
    /// the task's mailbox that matches a clause (clauses tried top-down).
    Receive {
        /// The clauses, as match arms.
        arms: Vec<MatchArm>,
        /// `after ms => body`: the timeout (from entering `receive`) and its body.
        after: Option<Box<(Expr, Expr)>>,
    },
}

/// Which spawn keyword started a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpawnKind {
    /// `spawn`: a child of the current scope.
    Child,
    /// `spawn_detached`: a task in the root scope.
    Detached,
    /// `spawn_link`: a task in the root scope, linked to the spawner.
    Link,
}

/// Which scope keyword opened a scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeKind {
    /// `scope`: a child's unobserved failure cancels the scope.
    Scope,
    /// `supervisor`: failures surface only through `await`.
    Supervisor,
    /// `shield`: protects its body from cancellation.
    Shield,
}

/// One `op => body` case of a `select`.
#[derive(Clone, Debug, PartialEq)]
pub struct SelectCase {
    /// What the case waits for.
    pub op: SelectOp,
    /// The case's value (a `Block` expression when written with braces).
    pub body: Expr,
    /// The whole case.
    pub span: Span,
}

/// What a `select` case waits for.
#[derive(Clone, Debug, PartialEq)]
pub enum SelectOp {
    /// `v = ch.recv()`, `ch.recv()`, or with `ok: true` `v = ch.recv_ok()` (binds `[value, ok]`).
    Recv {
        binding: Option<Name>,
        channel: Expr,
        ok: bool,
    },
    /// `ch.send(value)`.
    Send { channel: Expr, value: Expr },
    /// `t = await task` or `await task`.
    Await { binding: Option<Name>, task: Expr },
    /// `after ms`: fires when `ms` milliseconds pass with no other case ready.
    After { ms: Expr },
    /// `default`: runs when no other case is ready.
    Default,
}

/// One part of an interpolated string.
#[derive(Clone, Debug, PartialEq)]
pub enum InterpPart {
    /// Literal text (escapes resolved).
    Lit(Rc<str>),
    /// `${expr}`.
    Expr(Expr),
}

/// One element of a list literal.
#[derive(Clone, Debug, PartialEq)]
pub enum ListItem {
    /// A single element.
    Item(Expr),
    /// `..expr`: every element of a list (or other iterable).
    Spread(Expr),
}

/// One entry of a map literal.
#[derive(Clone, Debug, PartialEq)]
pub enum MapItem {
    /// `key: value`. A bare identifier key `b: 2` is parsed as the string literal `"b"`.
    Pair { key: Expr, value: Expr },
    /// `..expr`: every entry of another map; later entries overwrite earlier ones.
    Spread(Expr),
}

/// One call argument.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    /// A positional argument.
    Positional(Expr),
    /// `name: value`.
    Named { name: Name, value: Expr },
    /// `..list`: spreads the elements as positional arguments.
    Spread(Expr),
}

/// Prefix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x`.
    Neg,
    /// `not x`.
    Not,
}

/// Binary arithmetic and comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (always float on two ints)
    Div,
    /// `//` (floored)
    FloorDiv,
    /// `%` (floored, sign of the divisor)
    Mod,
    /// `**` (right associative)
    Pow,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// Short-circuit operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogicalOp {
    /// `and`
    And,
    /// `or`
    Or,
}

/// One `pattern if guard => body` arm of a `match`.
#[derive(Clone, Debug, PartialEq)]
pub struct MatchArm {
    /// The pattern.
    pub pattern: Pattern,
    /// The optional guard after `if`.
    pub guard: Option<Expr>,
    /// The arm's value (a `Block` expression when written with braces).
    pub body: Expr,
    /// The whole arm.
    pub span: Span,
}

/// One `catch name if guard { body }` clause. Clauses are tried in order.
#[derive(Clone, Debug, PartialEq)]
pub struct CatchClause {
    /// The name bound to the thrown value; `None` for a bare `catch { }`.
    pub name: Option<Name>,
    /// Optional guard; the clause applies only when it is truthy.
    pub guard: Option<Expr>,
    /// The handler.
    pub body: Block,
    /// The whole clause.
    pub span: Span,
}

/// A pattern, used by `match`, destructuring `let`, and `for`.
#[derive(Clone, Debug, PartialEq)]
pub struct Pattern {
    /// What kind of pattern.
    pub kind: PatternKind,
    /// The whole pattern.
    pub span: Span,
}

/// The pattern forms.
#[derive(Clone, Debug, PartialEq)]
pub enum PatternKind {
    /// `_`: matches anything, binds nothing.
    Wildcard,
    /// `name`: matches anything and binds it.
    Bind(Name),
    /// A literal: `nil`, `true`, `42`, `-1`, `2.5`, `"s"`; matches by `==`.
    Literal(Box<Expr>),
    /// `[p1, p2, ..rest, p3]`: a list of exactly the fixed elements (at least, with a rest).
    /// `rest` is `Some(None)` for a bare `..`, `Some(Some(name))` for `..name`.
    List {
        before: Vec<Pattern>,
        rest: Option<Option<Name>>,
        after: Vec<Pattern>,
    },
    /// `{name, age: a, "key": p}`: the map has every key and each value matches (subset match).
    /// A shorthand `{name}` is the entry `("name", Bind(name))`.
    Map(Vec<(Rc<str>, Pattern)>),
    /// `p1 | p2`: the first alternative that matches. Alternatives should bind the same names.
    Or(Vec<Pattern>),
}
