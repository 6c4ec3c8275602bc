//! Property tests: `lex`, `parse` and `is_incomplete` never panic, on arbitrary strings, on soups of
//! Weft tokens, and on random mutations of valid programs; diagnostics always point inside the source
//! and render.

use proptest::prelude::*;
use weft_syntax::{is_incomplete, lex, parse, SourceFile};

/// Valid programs to mutate. Together they use every construct the parser knows.
const PROGRAMS: &[&str] = &[
    r#"let x = 7 // 2
let [head, ..rest] = xs
const LIMIT = 10
fn add(a, b = 1, ..more) { a + b }
print(add(1, b: 2, ..xs)) // expect: 3
"#,
    r#"class Point {
  fn init(x, y) { self.x = x; self.y = y }
  fn norm() { (self.x ** 2 + self.y ** 2) ** 0.5 }
}
let p = Point(3, 4)
print("norm ${p.norm()} of ${ {"k": [1, 2]}["k"] }")
"#,
    r#"match v {
  0 | 1 => "small",
  [a, .., b] if a < b => { a + b }
  {name, age: a, "k": _} => name
  -1 => nil
  _ => "other"
}
"#,
    r#"try {
  risky()
} catch e if e.kind == "KeyError" {
  print(e)
} catch {
  nil
} finally { cleanup() }
"#,
    r#"import fs
import "./util.weft" as util
async fn work(n) { sleep(10); n * 2 }
let t = spawn { sleep(5); 42 }
let r = xs
  .map(|x| x * 2)
  .filter(async |x| await x > 1)
for [k, v] in m.items() { if k == nil { break } else if v { continue } else { return v } }
while not done and i < 10 { i += 1; xs[i..] = r"raw" }
"#,
    r#"let r = scope |s| {
  let a = spawn_detached f()
  spawn_link { g() }
  supervisor { spawn h() }
  shield { cleanup() }
  select {
    v = ch.recv() => v
    pair = ch.recv_ok() => pair, out.send(1) => nil
    t = await a => { t }
    after 100 => "late"
    default => nil
  }
}
"#,
];

/// Fragments that are likely to produce interesting token sequences.
#[rustfmt::skip]
const FRAGMENTS: &[&str] = &[
    "let ", "fn ", "class ", "if ", "else ", "match ", "try ", "catch ", "finally ", "for ",
    " in ", "while ", "return ", "spawn ", "await ", "async ", "scope ", "select ", "import ",
    "spawn_link ", "supervisor ", "shield ", "after ", "default ", ".recv()", ".send(", " = ",
    "const ", "not ", " and ", "x", "y", "_", "1", "2.5", "0x", "1e", "\"", "\"a ${", "}", "{",
    "(", ")", "[", "]", "|", "||", ",", ".", "..", "..=", "=>", "=", "==", "+", "-", "*", "**",
    "/", "//", " // ", "%", "<", ":", ";", "\n", " ", "\\", "r\"", "/*", "*/", "@", "é", "self",
    "nil", "true",
];

fn check(source: &str) {
    let (tokens, _) = lex(source);
    assert!(!tokens.is_empty());
    let _ = is_incomplete(source);
    let (program, diagnostics) = parse(source);
    let file = SourceFile::new("fuzz.weft", source);
    for diagnostic in &diagnostics {
        let (start, end) = (diagnostic.span.start as usize, diagnostic.span.end as usize);
        assert!(
            start <= end && end <= source.len(),
            "span {start}..{end} outside the source"
        );
        assert!(
            source.is_char_boundary(start) && source.is_char_boundary(end),
            "span not on char boundaries"
        );
        let _ = diagnostic.render(&file);
    }
    for stmt in &program.stmts {
        assert!(stmt.span.start <= stmt.span.end && stmt.span.end as usize <= source.len());
    }
}

/// Applies one edit at a char boundary near `at`: delete a char, insert a fragment, or duplicate a slice.
fn mutate(source: &mut String, at: usize, kind: u8, fragment: &str) {
    let mut pos = at % (source.len() + 1);
    while !source.is_char_boundary(pos) {
        pos -= 1;
    }
    match kind {
        0 => {
            if let Some(c) = source[pos..].chars().next() {
                source.replace_range(pos..pos + c.len_utf8(), "");
            }
        }
        1 => source.insert_str(pos, fragment),
        _ => {
            let mut end = (pos + fragment.len() * 3).min(source.len());
            while !source.is_char_boundary(end) {
                end -= 1;
            }
            let slice = source[pos..end].to_string();
            source.insert_str(end, &slice);
        }
    }
}

#[test]
fn sample_programs_are_valid() {
    for program in PROGRAMS {
        let (_, diagnostics) = parse(program);
        assert!(diagnostics.is_empty(), "{program}\n{diagnostics:#?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(source in any::<String>()) {
        check(&source);
    }

    #[test]
    fn token_soup_never_panics(parts in prop::collection::vec(prop::sample::select(FRAGMENTS), 0..80)) {
        check(&parts.concat());
    }

    #[test]
    fn mutated_programs_never_panic(
        index in 0..PROGRAMS.len(),
        edits in prop::collection::vec((any::<usize>(), 0u8..3, prop::sample::select(FRAGMENTS)), 1..8),
    ) {
        let mut source = PROGRAMS[index].to_string();
        for (at, kind, fragment) in edits {
            mutate(&mut source, at, kind, fragment);
        }
        check(&source);
    }
}
