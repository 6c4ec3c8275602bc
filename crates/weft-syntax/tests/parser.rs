//! Parser tests: AST snapshots for every construct, precedence, layout-sensitive parsing, block-versus-
//! map decisions, interpolation, and spans.

mod support;

use support::{expr, sexpr};
use weft_syntax::ast::{ExprKind, StmtKind};
use weft_syntax::parse;

/// The S-expression of a one-statement program.
fn one(source: &str) -> String {
    sexpr(source)
}

fn errors(source: &str) -> Vec<String> {
    parse(source).1.into_iter().map(|d| d.message).collect()
}

// ----- Snapshots of representative programs -----

#[test]
fn snapshot_bindings_and_functions() {
    insta::assert_snapshot!(sexpr(
        r#"
let x = 1
let y
const LIMIT = 10
let [a, b] = pair
let [head, ..rest] = xs
let {name, age} = person
fn add(a, b = 1) { a + b }
fn sum(..xs) { xs.reduce(0, |a, b| a + b) }
async fn work(n) { sleep(10); n * 2 }
let inc = |x| x + 1
let both = |a, b = 2, ..r| { a + b }
let thunk = || 42
let task = async |x| x * 2
x = 2; x += 1; x -= 1; x *= 2; x /= 2; x //= 2; x %= 3; x **= 2
p.x = 3
xs[0] = p.x
"#
    ));
}

#[test]
fn snapshot_classes_and_imports() {
    insta::assert_snapshot!(sexpr(
        r#"
import fs
import json as j
import "./util.weft" as util
class Point {
  fn init(x, y) { self.x = x; self.y = y }

  // Methods are separated by newlines.
  fn norm() { (self.x ** 2 + self.y ** 2) ** 0.5 }
  async fn later() { self }
}
let p = Point(3, 4); print(p.norm())
"#
    ));
}

#[test]
fn snapshot_control_flow() {
    insta::assert_snapshot!(sexpr(
        r#"
if c { a } else if d { b } else { e }
if c {
  a
}
else {
  b
}
while i < 10 { i += 1; if i == 5 { break } else { continue } }
for x in xs { print(x) }
for [k, v] in m.items() { print(k, v) }
for i in 0..10 { }
fn early(x) {
  if x { return }
  return x * 2
}
throw error("ValueError", "bad")
{
  let scoped = 1
  scoped
}
"#
    ));
}

#[test]
fn snapshot_match() {
    insta::assert_snapshot!(sexpr(
        r#"
match v { 0 => "zero", [a, b] => a + b, {name: n} => n, x if x > 10 => "big", _ => "other" }
match v {
  nil | false => "falsy"
  -1 => "minus one",
  2.5 | -0.5 => "float"
  "s" => { let t = 1; t }

  [] => "empty", [..] => "any list", [first, .., last] => first + last
  [head, ..tail] if len(tail) > 0 => tail
  {"key": [x, _], name} => x
  (1 | 2) => "small"
}
"#
    ));
}

#[test]
fn snapshot_try() {
    insta::assert_snapshot!(sexpr(
        r#"
try { f() } catch e { print(e) } finally { cleanup() }
try { f() } catch e if e.kind == "KeyError" { 1 } catch e { 2 }
try {
  f()
}
catch {
  nil
}
try { f() } finally { g() }
"#
    ));
}

#[test]
fn snapshot_collections_calls_and_strings() {
    insta::assert_snapshot!(sexpr(
        r#"
let xs = [1, 2, ..ys, 3,]
let empty = []
let m = {"a": 1, b: 2, 3: x, true: nil, ..defaults,}
let e = {}
let nested = {
  name: "weft",
  tags: [
    "a",
    "b",
  ],
}
f(1, 2)
f(1, priority: "low")
f(..args, last: 1,)
f(
  1,
  |x| {
    x + 1
  },
)
xs[1..3]; xs[1..]; s[..2]; xs[..]; xs[-1]
let s = "plain"
let t = "a ${x} b ${y + 1} c"
let u = "${f("inner ${deep}")}"
let v = "${ {"k": 1}["k"] }"
let w = r"raw ${not} \n"
"#
    ));
}

#[test]
fn snapshot_async_and_misc_expressions() {
    insta::assert_snapshot!(sexpr(
        r#"
let t = spawn fetch(url)
let u = spawn { sleep(5); 42 }
let v = await t
await spawn work(1)
let r = xs
  .map(|x| x * 2)
  .filter(|x| x > 1)
  .len()
not done and ready or -x ** 2 // 3 % 4
a..b; a..=b; ..b; (a..)
self.count = nil
"#
    ));
}

#[test]
fn snapshot_spawn_kinds_and_scopes() {
    insta::assert_snapshot!(sexpr(
        r#"
let a = spawn f(1)
let b = spawn_detached f(2)
let c = spawn_link { loop_forever() }
spawn_detached { 1 }; spawn_link g()
scope { spawn f() }
scope |s| {
  spawn work(s)
  s.cancel()
}
let r = scope { 1 }
let q = supervisor |sup| { spawn a(); spawn b() }
supervisor { }
shield { cleanup() }
let v = shield { await t } + 1
scope { } print(1)
f(scope { 1 }, shield { 2 })
"#
    ));
}

#[test]
fn snapshot_receive() {
    insta::assert_snapshot!(sexpr(
        r#"
let v = receive {
  {type: "ping", from: p} => p.send("pong"),
  [x, y] if x > y => x
  m => { print(m); m }
  after 1000 => "timeout"
}
receive { after 0 => nil }
receive { {exit: t, reason: r} => r }
"#
    ));
}

#[test]
fn snapshot_select() {
    insta::assert_snapshot!(sexpr(
        r#"
let v = select {
  x = ch.recv() => x
  ch.recv() => "drained",
  pair = ch.recv_ok() => { let [value, ok] = pair; value }
  out.send(x + 1) => "sent"
  r = await task => r
  await spawn f() => nil
  after 100 => "timeout"
  default => "nothing ready"
}
select { m = a.b.recv() => m, c().send([1, 2]) => 2 }
select {
  after timeout_ms() * 2 => {
    print("late")
  }
}
select { } print(1)
let default = 1
select { default => default }
"#
    ));
}

/// The full `Debug` form pins the spans and node shapes of the concurrency forms.
#[test]
fn snapshot_debug_ast_concurrency() {
    let (program, diagnostics) = parse(
        "spawn_link f()\nscope |s| { 1 }\nselect { v = ch.recv() => v, ch.send(1) => 2, after 5 => 3, default => 4 }\n",
    );
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    insta::assert_debug_snapshot!(program);
}

/// The full `Debug` form pins spans and the exact node shapes for a small program.
#[test]
fn snapshot_debug_ast() {
    let (program, diagnostics) = parse("let [a, ..r] = f(x: 1)\nprint(\"v=${a}\")\n");
    assert!(diagnostics.is_empty());
    insta::assert_debug_snapshot!(program);
}

#[test]
fn snapshot_debug_ast_closure_and_match() {
    let (program, diagnostics) = parse("let f = |n = 1| match n { -1 | 0 => nil, _ => n ** 2 }");
    assert!(diagnostics.is_empty());
    insta::assert_debug_snapshot!(program);
}

// ----- Precedence -----

#[test]
fn precedence() {
    let cases = [
        ("-2 ** 2", "(neg (** 2 2))"),
        ("2 ** -1", "(** 2 (neg 1))"),
        ("2 ** 3 ** 2", "(** 2 (** 3 2))"),
        ("-x ** 2 * 3", "(* (neg (** x 2)) 3)"),
        ("not a == b", "(not (== a b))"),
        ("not a and b", "(and (not a) b)"),
        ("a or b and c", "(or a (and b c))"),
        ("a and not b or c", "(or (and a (not b)) c)"),
        ("1 + 2 * 3", "(+ 1 (* 2 3))"),
        ("1 * 2 + 3", "(+ (* 1 2) 3)"),
        ("1 - 2 - 3", "(- (- 1 2) 3)"),
        ("a // b % c * d / e", "(/ (* (% (// a b) c) d) e)"),
        ("a..b + 1", "(.. a (+ b 1))"),
        ("a + 1..b * 2", "(.. (+ a 1) (* b 2))"),
        ("a..b == c..=d", "(== (.. a b) (..= c d))"),
        ("a < b < c", "(< (< a b) c)"),
        ("a == b != c", "(!= (== a b) c)"),
        ("a = b = c", "(= a (= b c))"),
        ("a += b or c", "(+= a (or b c))"),
        ("-x.y(1)[2]", "(neg (index (call (. x y) 1) 2))"),
        ("await t + 1", "(+ (await t) 1)"),
        ("spawn f() * 2", "(* (spawn (call f)) 2)"),
        ("spawn_detached f() * 2", "(* (spawn_detached (call f)) 2)"),
        ("spawn_link f().x", "(spawn_link (. (call f) x))"),
        ("await spawn_link f()", "(await (spawn_link (call f)))"),
        ("- - x", "(neg (neg x))"),
        ("not not x", "(not (not x))"),
        ("(1 + 2) * 3", "(* (+ 1 2) 3)"),
        ("f(x)(y).z", "(. (call (call f x) y) z)"),
        ("return a or b", "(return (or a b))"),
        ("throw a + b", "(throw (+ a b))"),
    ];
    for (source, expected) in cases {
        assert_eq!(one(source), expected, "source: {source}");
    }
}

#[test]
fn ranges_do_not_chain() {
    assert_eq!(errors("a..b..c"), ["range operators cannot be chained"]);
    assert_eq!(one("(a..b)..c"), "(.. (.. a b) c)");
}

#[test]
fn open_ranges() {
    assert_eq!(one("xs[1..]"), "(index xs (.. 1 ()))");
    assert_eq!(one("xs[..2]"), "(index xs (.. () 2))");
    assert_eq!(one("xs[..=2]"), "(index xs (..= () 2))");
    assert_eq!(one("xs[..]"), "(index xs (.. () ()))");
    assert_eq!(one("f(a..)"), "(call f (.. a ()))");
    assert_eq!(errors("a..="), ["expected end of range after '..='"]);
}

// ----- Layout-sensitive parsing -----

#[test]
fn newline_continuation() {
    assert_eq!(sexpr("let x = 1 +\n  2"), "(let x (+ 1 2))");
    assert_eq!(sexpr("let x =\n  2"), "(let x 2)");
    assert_eq!(sexpr("let ok = a and\n  b"), "(let ok (and a b))");
    assert_eq!(sexpr("f(1,\n  2)"), "(call f 1 2)");
    assert_eq!(sexpr("f(\n  1\n  ,2\n)"), "(call f 1 2)");
    assert_eq!(
        sexpr("xs\n  .map(f)\n\n  // c\n  .len()"),
        "(call (. (call (. xs map) f) len))"
    );
    assert_eq!(sexpr("let x = 1\n-2"), "(let x 1)\n(neg 2)");
    assert_eq!(sexpr("a\n(b)"), "a\nb");
    assert_eq!(sexpr("a\n[1]"), "a\n(list 1)");
}

#[test]
fn newlines_inside_maps_lists_params_and_matches() {
    assert_eq!(
        sexpr("let m = {\n\n  a: 1,\n\n  b:\n 2\n\n}"),
        "(let m (map (\"a\" 1) (\"b\" 2)))"
    );
    assert_eq!(
        sexpr("let m = {\n  a: 1\n  ,b: 2}"),
        "(let m (map (\"a\" 1) (\"b\" 2)))"
    );
    assert_eq!(sexpr("let xs = [\n  1,\n  2\n]"), "(let xs (list 1 2))");
    assert_eq!(sexpr("fn f(\n  a,\n  b\n) { a }"), "(fn f(a b) (block a))");
    assert_eq!(
        sexpr("let f = |a,\n  b| a"),
        "(let f (closure (a b) (block a)))"
    );
    assert_eq!(
        sexpr("match x {\n\n  1 => a\n\n  2 =>\n    b,\n  _ => c,\n}"),
        "(match x (arm (lit 1) a) (arm (lit 2) b) (arm _ c))"
    );
    assert_eq!(
        sexpr("let {\n  a,\n  b: c\n} = m"),
        "(let {\"a\": a, \"b\": c} m)"
    );
}

#[test]
fn else_catch_and_finally_may_start_a_line() {
    assert_eq!(
        sexpr("if a { 1 }\nelse { 2 }"),
        "(if a (block 1) (block 2))"
    );
    assert_eq!(
        sexpr("try { 1 }\ncatch e { 2 }\nfinally { 3 }"),
        "(try (block 1) (catch e (block 2)) (finally (block 3)))"
    );
}

#[test]
fn semicolons_and_block_statements() {
    assert_eq!(sexpr("a; b;; c"), "a\nb\nc");
    assert_eq!(
        sexpr("fn a() {} fn b() {}"),
        "(fn a() (block))\n(fn b() (block))"
    );
    assert_eq!(sexpr("if a { b } c"), "(if a (block b))\nc");
    assert_eq!(
        errors("let x = 1 2"),
        ["expected newline or ';' after statement"]
    );
}

// ----- Blocks versus maps -----

#[test]
fn braces_in_expression_position_are_maps() {
    assert_eq!(one("let m = {}"), "(let m (map))");
    assert_eq!(one("f({a: 1})"), "(call f (map (\"a\" 1)))");
    assert_eq!(one("[{}]"), "(list (map))");
    assert_eq!(one("return {a: 1}"), "(return (map (\"a\" 1)))");
}

#[test]
fn braces_at_statement_start_and_bodies_are_blocks() {
    assert_eq!(one("{ a }"), "(block a)");
    assert_eq!(one("{}"), "(block)");
    assert_eq!(one("let f = |x| { x }"), "(let f (closure (x) (block x)))");
    assert_eq!(
        one("let f = |x| ({a: x})"),
        "(let f (closure (x) (block (map (\"a\" x)))))"
    );
    assert_eq!(one("match x { _ => { a } }"), "(match x (arm _ (block a)))");
    assert_eq!(
        one("match x { _ => ({a: 1}) }"),
        "(match x (arm _ (map (\"a\" 1))))"
    );
    assert_eq!(one("spawn { a }"), "(spawn (block a))");
}

#[test]
fn conditions_end_at_brace() {
    assert_eq!(one("if x { }"), "(if x (block))");
    assert_eq!(
        one("if f({a: 1}) { }"),
        "(if (call f (map (\"a\" 1))) (block))"
    );
    assert_eq!(
        one("if ({a: 1}).len() > 0 { }"),
        "(if (> (call (. (map (\"a\" 1)) len)) 0) (block))"
    );
    assert_eq!(one("for i in 0.. { }"), "(for i (.. 0 ()) (block))");
    assert_eq!(one("while xs[{}] { }"), "(while (index xs (map)) (block))");
    // A map literal at the top level of a condition is recognised when a block follows it.
    assert_eq!(one("if x == {} { }"), "(if (== x (map)) (block))");
    assert_eq!(
        one("for k in {a: 1} { }"),
        "(for k (map (\"a\" 1)) (block))"
    );
    assert_eq!(errors("if {} == x { }"), ["expected expression"]);
    assert_eq!(one("if x == ({}) { }"), "(if (== x (map)) (block))");
}

// ----- Interpolation -----

#[test]
fn interpolation() {
    assert_eq!(one("\"${x}\""), "(interp x)");
    assert_eq!(one("\"a${x}\""), "(interp \"a\" x)");
    assert_eq!(one("\"${a}${b}\""), "(interp a b)");
    assert_eq!(
        one("\"x ${\"y ${\"z ${w}\"}\"}\""),
        "(interp \"x \" (interp \"y \" (interp \"z \" w)))"
    );
    assert_eq!(one("\"${m[\"a}\"]}\""), "(interp (index m \"a}\"))");
    assert_eq!(
        one("\"${ {\"k\": |x| {x}}[\"k\"](1) }\""),
        "(interp (call (index (map (\"k\" (closure (x) (block x)))) \"k\") 1))"
    );
    assert_eq!(one("\"no ${\"\"} gap\""), "(interp \"no \" \"\" \" gap\")");
    assert_eq!(
        one("\"multi\n${\n  x +\n  1\n}\n\""),
        "(interp \"multi\\n\" (+ x 1) \"\\n\")"
    );
}

#[test]
fn interpolation_errors() {
    assert_eq!(errors("\"${}\""), ["expected expression"]);
    assert_eq!(
        errors("\"${a b}\""),
        ["expected '}' after interpolated expression"]
    );
}

// ----- Spans -----

#[test]
fn statement_spans_cover_their_source() {
    let source = "let x = 1 + 2\nfn f(a) {\n  a\n}\nclass C { fn m() { 1 } }\nimport json as j\nprint(\"${x}\")  // c\n";
    let (program, diagnostics) = parse(source);
    assert!(diagnostics.is_empty());
    let texts: Vec<&str> = program
        .stmts
        .iter()
        .map(|s| &source[s.span.start as usize..s.span.end as usize])
        .collect();
    assert_eq!(
        texts,
        [
            "let x = 1 + 2",
            "fn f(a) {\n  a\n}",
            "class C { fn m() { 1 } }",
            "import json as j",
            "print(\"${x}\")"
        ]
    );
}

#[test]
fn expression_spans() {
    let source = "(a + b) // 2";
    let (program, _) = parse(source);
    let StmtKind::Expr(e) = &program.stmts[0].kind else {
        panic!()
    };
    assert_eq!((e.span.start, e.span.end), (0, 12));
    let ExprKind::Binary { lhs, rhs, .. } = &e.kind else {
        panic!()
    };
    assert_eq!(
        &source[lhs.span.start as usize..lhs.span.end as usize],
        "(a + b)"
    );
    assert_eq!(&source[rhs.span.start as usize..rhs.span.end as usize], "2");
    assert_eq!(expr(e), "(// (+ a b) 2)");
}

#[test]
fn closure_expression_body_is_a_one_statement_block() {
    let source = "|x| x + 1";
    let (program, _) = parse(source);
    let StmtKind::Expr(e) = &program.stmts[0].kind else {
        panic!()
    };
    let ExprKind::Closure(decl) = &e.kind else {
        panic!()
    };
    assert_eq!(decl.body.stmts.len(), 1);
    assert_eq!((decl.body.span.start, decl.body.span.end), (4, 9));
    assert_eq!((decl.span.start, decl.span.end), (0, 9));
}
