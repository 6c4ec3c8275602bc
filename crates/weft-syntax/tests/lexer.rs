//! Lexer tests: token snapshots, the `//` rule, layout (which line breaks end statements), literals,
//! lexical errors and `is_incomplete`.

mod support;

use support::{dump_tokens, kinds};
use weft_syntax::{is_incomplete, lex, TokenKind};

fn messages(source: &str) -> Vec<String> {
    lex(source).1.into_iter().map(|d| d.message).collect()
}

fn single_string(source: &str) -> String {
    let (tokens, diagnostics) = lex(source);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    match &tokens[0].kind {
        TokenKind::Str(text) => text.to_string(),
        other => panic!("expected a string token, got {other:?}"),
    }
}

// ----- Snapshots -----

#[test]
fn snapshot_numbers_and_operators() {
    insta::assert_snapshot!(dump_tokens(
        "let x = 1_000 + 0xff * 0b1010 - 0o17\nx **= 2.5e-3 // 1E9\n1..5 ..= 3.14 1e9"
    ));
}

#[test]
fn snapshot_strings_and_interpolation() {
    insta::assert_snapshot!(dump_tokens(
        r#"print("a\tb", r"raw\n", "x ${m["k"] + {"k": 1}["k"]} y ${"in ${z}"}!")"#
    ));
}

#[test]
fn snapshot_layout() {
    let source = "fn f(a,\n     b) {\n  let r = a +\n    b\n  xs\n    // a comment line\n    .map(|x| x)\n\n\n  r\n}\n";
    insta::assert_snapshot!(dump_tokens(source));
}

#[test]
fn snapshot_errors() {
    insta::assert_snapshot!(dump_tokens(
        "let a = @@ 1\n\"bad \\q\" 99999999999999999999 0x 12ab\n/* open"
    ));
}

// ----- The `//` rule -----

#[test]
fn floor_division_between_operands() {
    assert_eq!(kinds("7 // 2"), "7 // 2");
    assert_eq!(kinds("-7 // 2"), "- 7 // 2");
    assert_eq!(kinds("x//y"), "x // y");
    assert_eq!(kinds("(a + b) // 2"), "( a + b ) // 2");
    assert_eq!(kinds("let f = |x| 10 // x"), "let f = | x | 10 // x");
    assert_eq!(kinds("xs[0] // -2"), "xs [ 0 ] // - 2");
    assert_eq!(kinds("a // \"s\""), "a // Str(\"s\")");
}

#[test]
fn comments_that_look_like_division() {
    // Division first, then a comment: the second `//` is followed by `expect:`.
    assert_eq!(kinds("print(7 // 2) // expect: 3"), "print ( 7 // 2 )");
    // More than one blank before `//`.
    assert_eq!(kinds("print(x)   // 5.0"), "print ( x )");
    // At the start of a line, and after a line break.
    assert_eq!(kinds("// comment at line start\nx"), "x");
    assert_eq!(kinds("x\n// 2\ny"), "x NL y");
    // A word followed by a colon.
    assert_eq!(kinds("x // note: 2"), "x");
    // Unequal blanks around `//`.
    assert_eq!(kinds("a //b"), "a");
    assert_eq!(kinds("a// b"), "a");
    // The previous token does not end an operand.
    assert_eq!(kinds("x = // 2"), "x =");
    // The next character cannot begin an operand.
    assert_eq!(kinds("x // *"), "x");
    assert_eq!(kinds("x //"), "x");
}

#[test]
fn floor_division_assignment() {
    assert_eq!(kinds("x //= 2"), "x //= 2");
    assert_eq!(kinds("x//=2"), "x //= 2");
    assert_eq!(kinds("x  //= 2"), "x");
}

#[test]
fn documented_gotcha_single_space_comment_divides() {
    // One blank on each side and a single word after: that is still division.
    assert_eq!(kinds("f() // done"), "f ( ) // done");
    // Two words in a row read as prose, so that is a comment.
    assert_eq!(kinds("f() // see below"), "f ( )");
}

// ----- Layout -----

#[test]
fn newline_ends_statements() {
    assert_eq!(kinds("a\nb"), "a NL b");
    assert_eq!(kinds("a\n\n\n  \nb\n"), "a NL b NL");
    assert_eq!(kinds("\n\na"), "a");
    assert_eq!(kinds("a; b"), "a ; b");
    assert_eq!(kinds("let x = 5\n-3"), "let x = 5 NL - 3");
}

#[test]
fn newline_after_binary_operator_continues() {
    for op in [
        "+", "-", "*", "/", "%", "**", "==", "!=", "<", "<=", ">", ">=", "and", "or", "=", "+=",
        "..",
    ] {
        assert_eq!(
            kinds(&format!("a {op}\n b")),
            format!("a {op} b"),
            "operator {op}"
        );
    }
    assert_eq!(
        kinds("a //\n b"),
        "a NL b",
        "`//` at the end of a line is a comment"
    );
    assert_eq!(kinds("x =>\n 1"), "x => 1");
    assert_eq!(kinds("f(a,\n b)"), "f ( a , b )");
}

#[test]
fn newline_inside_parens_and_brackets_continues() {
    assert_eq!(kinds("f(\n a\n b\n)"), "f ( a b )");
    assert_eq!(kinds("[\n 1\n 2\n]"), "[ 1 2 ]");
    assert_eq!(kinds("\"${\n a\n}\""), "StrHead(\"\") a StrTail(\"\")");
}

#[test]
fn newline_inside_braces_is_kept() {
    assert_eq!(kinds("{\n a\n b\n}"), "{ NL a NL b NL }");
    // A block inside parentheses has its own lines again.
    assert_eq!(
        kinds("f(|x| {\n a\n b\n})\nc"),
        "f ( | x | { NL a NL b NL } ) NL c"
    );
}

#[test]
fn method_chain_on_next_line_continues() {
    assert_eq!(kinds("xs\n  .map(f)\n  .len()"), "xs . map ( f ) . len ( )");
    assert_eq!(
        kinds("xs\n\n  // comment\n  /* block */\n  .len()"),
        "xs . len ( )"
    );
    // `..` on the next line is not a method chain.
    assert_eq!(kinds("a\n..b"), "a NL .. b");
}

#[test]
fn multi_line_block_comment_is_a_line_break() {
    assert_eq!(kinds("a /* x\n y */ b"), "a NL b");
    assert_eq!(kinds("a /* x */ b"), "a b");
    assert_eq!(kinds("a /* outer /* inner */ still */ b"), "a b");
}

// ----- Literals -----

#[test]
fn numbers() {
    let (tokens, diagnostics) = lex("42 1_000 0xff 0b1010 0o17 3.14 1e9 2.5e-3 1E9 1e+2");
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let values: Vec<String> = tokens.iter().map(|t| format!("{:?}", t.kind)).collect();
    assert_eq!(
        values.join(" "),
        "Int(42) Int(1000) Int(255) Int(10) Int(15) Float(3.14) Float(1000000000.0) Float(0.0025) \
         Float(1000000000.0) Float(100.0) Eof"
    );
}

#[test]
fn range_after_int_is_not_a_float() {
    assert_eq!(kinds("1..5"), "1 .. 5");
    assert_eq!(kinds("1..=5"), "1 ..= 5");
    assert_eq!(kinds("1.abs()"), "1 . abs ( )");
}

#[test]
fn integer_limits() {
    assert_eq!(kinds("9223372036854775807"), "9223372036854775807");
    assert_eq!(
        messages("9223372036854775808"),
        ["integer literal is too large"]
    );
    assert_eq!(
        messages("0xffffffffffffffff"),
        ["integer literal is too large"]
    );
    assert_eq!(messages("0x"), ["invalid number literal"]);
    assert_eq!(messages("0b102"), ["invalid number literal"]);
    assert_eq!(messages("12abc"), ["invalid number literal"]);
}

#[test]
fn string_escapes() {
    assert_eq!(
        single_string(r#""\n\t\r\\\"\0\u{1F600}\$""#),
        "\n\t\r\\\"\0\u{1F600}$"
    );
    assert_eq!(single_string(r#""\${x}""#), "${x}");
    assert_eq!(single_string(r#""cost: $5 and $""#), "cost: $5 and $");
    assert_eq!(single_string("\"two\nlines\""), "two\nlines");
}

#[test]
fn raw_strings() {
    assert_eq!(single_string(r#"r"C:\path\n ${x}""#), r"C:\path\n ${x}");
    assert_eq!(single_string("r\"a\nb\""), "a\nb");
    assert_eq!(kinds("r + 1"), "r + 1");
}

#[test]
fn string_errors() {
    assert_eq!(messages(r#""\q""#), ["unknown escape sequence '\\q'"]);
    assert_eq!(messages(r#""\u{110000}""#), ["invalid unicode escape"]);
    assert_eq!(messages(r#""\u1F600""#), ["invalid unicode escape"]);
    assert_eq!(messages(r#""\u{}""#), ["invalid unicode escape"]);
    assert_eq!(messages("\"abc"), ["unterminated string"]);
    assert_eq!(messages("r\"abc"), ["unterminated string"]);
    assert_eq!(messages("\"a ${x"), ["unterminated string"]);
    assert_eq!(messages("\"a ${\"b"), ["unterminated string"]);
}

#[test]
fn interpolation_tokens_balance_even_when_unterminated() {
    let (tokens, _) = lex("\"a ${ \"b ${ c");
    let heads = tokens
        .iter()
        .filter(|t| matches!(t.kind, TokenKind::StrHead(_)))
        .count();
    let tails = tokens
        .iter()
        .filter(|t| matches!(t.kind, TokenKind::StrTail(_)))
        .count();
    assert_eq!((heads, tails), (2, 2));
}

#[test]
fn unicode_identifiers() {
    assert_eq!(kinds("let café = naïve + π"), "let café = naïve + π");
    assert_eq!(kinds("_x1 _"), "_x1 _");
}

#[test]
fn keywords() {
    let source = "let const fn return if else while for in break continue match class self try catch finally \
                  throw import as spawn spawn_detached spawn_link await async scope supervisor shield select receive after true false nil \
                  and or not";
    let (tokens, _) = lex(source);
    assert!(tokens
        .iter()
        .all(|t| !matches!(t.kind, TokenKind::Ident(_))));
    assert_eq!(tokens.len(), 38);
}

#[test]
fn unexpected_characters() {
    assert_eq!(messages("a @ b"), ["unexpected character '@'"]);
    assert_eq!(messages("a @#$ b"), ["unexpected character '@'"]);
    assert_eq!(messages("a ! b"), ["unexpected character '!'"]);
    assert_eq!(messages("/* never closed"), ["unterminated block comment"]);
}

#[test]
fn spans_are_byte_offsets() {
    let (tokens, _) = lex("é + \"ü\"");
    let spans: Vec<(u32, u32)> = tokens.iter().map(|t| (t.span.start, t.span.end)).collect();
    assert_eq!(spans, [(0, 2), (3, 4), (5, 9), (9, 9)]);
}

// ----- is_incomplete -----

#[test]
fn incomplete_input() {
    for source in [
        "fn f() {",
        "print(1,",
        "let xs = [1, 2",
        "let x = 1 +",
        "let x =",
        "a and",
        "\"abc",
        "\"a ${b",
        "r\"abc",
        "/* comment",
        "/* a /* b */",
        "match x {\n 1 => 2\n",
        "xs\n  .map(f).",
    ] {
        assert!(is_incomplete(source), "{source:?} should be incomplete");
    }
}

#[test]
fn complete_input() {
    for source in [
        "",
        "print(1)",
        "fn f() { 1 }",
        "let x = 1 + 2",
        "// just a comment",
        "x // 2",
        "let s = \"a ${b} c\"",
        "f(1))",
        "(]",
        "let x = @",
    ] {
        assert!(!is_incomplete(source), "{source:?} should be complete");
    }
}

#[test]
fn backslash_before_line_break() {
    assert_eq!(
        messages("\"a\\\nb\""),
        ["unknown escape sequence: '\\' before a line break"]
    );
}
