//! Rendered diagnostics for malformed programs: every error is reported once, at the right place.

mod support;

use support::render_diagnostics;

#[test]
fn three_separate_errors_are_all_reported() {
    let source = "\
let total = 10 +* 2
fn greet(name {
  print(\"hi ${name}\")
}
let m = {a: 1 b: 2}
print(total, m)
";
    insta::assert_snapshot!(render_diagnostics(source));
}

/// Renders several small programs, each under a header, into one snapshot.
fn render_all(programs: &[&str]) -> String {
    programs
        .iter()
        .map(|source| format!("=== {source:?}\n{}", render_diagnostics(source)))
        .collect()
}

#[test]
fn lexical_errors() {
    insta::assert_snapshot!(render_all(&[
        "let s = \"abc\nprint(s)\n",
        "let x = 1 /* never closed\nprint(x)",
        "let y = @ + 1\nprint(y)",
        "print(\"bad \\q escape\", \"\\u{zz}\")",
        "let big = 9223372036854775808",
        "let bad = 12abc",
        "print(\"a ${x",
    ]));
}

#[test]
fn expression_errors() {
    insta::assert_snapshot!(render_all(&[
        "print(1, 2",
        "print(1 2)",
        "let xs = [1, 2",
        "let x = (1 + 2",
        "x + 1 = 2",
        "f(a: 1, 2)",
        "let z = 1 +\n",
        "obj.",
        "a..b..c",
        "if x == {} { }",
        "let f = async x",
    ]));
}

#[test]
fn statement_errors() {
    insta::assert_snapshot!(render_all(&[
        "let = 5",
        "let [a, b]",
        "const [a] = 1",
        "fn (x) { x }",
        "fn f(a, ..b, c) { }",
        "fn f(..a, ..b) { }",
        "class C { let x = 1 }",
        "import \"./util.weft\"",
        "import 42",
        "print(1) print(2)",
        "}",
    ]));
}

#[test]
fn control_flow_errors() {
    insta::assert_snapshot!(render_all(&[
        "if x { 1 } else 2",
        "if x print(1)",
        "while { }",
        "for x xs { }",
        "match x { 1 2 }",
        "match x { 1 => a 2 => b }",
        "match x {\n  [a, ..b, ..c] => 1\n}",
        "try { 1 }",
        "fn f() {\n  if x {\n    print(1)\n",
    ]));
}

#[test]
fn receive_errors() {
    insta::assert_snapshot!(render_all(&[
        "receive { after 10 => 1, after 20 => 2 }",
        "receive { after 10 => 1, m => m }",
        "receive { m => m, after => 1 }\nprint(1 2)",
        "let v = receive { m \n",
    ]));
}

#[test]
fn select_errors() {
    insta::assert_snapshot!(render_all(&[
        "select { x => 1 }",
        "select { v = f() => v }",
        "select { ch.recv(1) => 1, ch.send() => 2, ch.send(1, 2) => 3 }",
        "select { ch.send(..xs) => 1, ch.close() => 2, recv() => 3 }",
        "select {\n  default => 1\n  ch.recv() => 2\n  default => 3\n}",
        "select {\n  after 10 => 1\n  after 20 => 2\n}",
        "select {\n  s = ch.send(1) => s\n  t = after 5 => t\n  d = default => d\n}",
        "select { ch.recv() 1 }",
        "select { ch.recv() => 1 ch.recv() => 2 }",
        "select ch { }",
        "let v = select {\n  x = ch.recv() => x\n",
        "select {\n  bad bad => 1\n  v = ch.recv() => v\n  f() => 2\n}",
    ]));
}

#[test]
fn scope_errors() {
    insta::assert_snapshot!(render_all(&[
        "scope |s { }",
        "scope |1| { }",
        "supervisor || { }",
        "shield |s| { }",
        "scope 1",
        "let r = supervisor\nprint(r)",
    ]));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let source = format!("let x = {}1{}", "(".repeat(1000), ")".repeat(1000));
    let rendered = render_diagnostics(&source);
    assert_eq!(rendered.matches("error:").count(), 1, "{rendered}");
    assert!(rendered.contains("expression is nested too deeply"));
}

#[test]
fn errors_in_separate_blocks_are_all_reported() {
    let source = "\
fn a() {
  let x = 1 +
}
fn b() {
  print(1 2)
}
fn c() {
  return )
}
print(a(), b(), c())
";
    insta::assert_snapshot!(render_diagnostics(source));
}

#[test]
fn comment_read_as_floor_division_gets_a_hint() {
    insta::assert_snapshot!(render_all(&["print(x) // done."]));
}

#[test]
fn prose_after_slashes_is_a_comment() {
    for src in [
        "print(x) // see below",
        "while x {\n  x -= 1\n} // end loop",
        "let s = \"a\" // a trailing comment",
        "print(a) // isn't division",
        "let m = {a: 1} // 2",
    ] {
        let (_, diags) = weft_syntax::parse(src);
        assert!(diags.is_empty(), "{src:?}: {diags:?}");
    }
    for src in [
        "let q = 7 // 2",
        "let q = (a + b) // 2 // expect: 3",
        "print(x // y and z)",
    ] {
        let (_, diags) = weft_syntax::parse(src);
        assert!(diags.is_empty(), "{src:?}: {diags:?}");
    }
}
