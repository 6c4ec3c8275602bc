//! No input may crash the VM: every golden script, mutated at random, is compiled and run with a
//! bounded amount of fuel, and the only acceptable outcomes are diagnostics, a result or a Weft error.

use std::path::{Path, PathBuf};

use weft_syntax::SourceFile;
use weft_vm::{Halt, Vm};

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn scripts(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            scripts(&path, out);
        } else if path.extension().is_some_and(|e| e == "weft") {
            out.push(path);
        }
    }
}

/// Deletes, duplicates or swaps a random slice of the text (on char boundaries).
fn mutate(text: &str, rng: &mut Rng) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    let a = rng.below(chars.len());
    let b = (a + 1 + rng.below(12)).min(chars.len());
    let mut out: Vec<char> = Vec::with_capacity(chars.len() + 16);
    match rng.below(4) {
        0 => {
            out.extend_from_slice(&chars[..a]);
            out.extend_from_slice(&chars[b..]);
        }
        1 => {
            out.extend_from_slice(&chars[..b]);
            out.extend_from_slice(&chars[a..]);
        }
        2 => {
            let tokens = [
                "(", ")", "{", "}", "[", "]", "..", "|", "=>", "//", "\"", "${", "-", "**",
                "match", "try", "fn", "return", "break", "0", "nil",
            ];
            out.extend_from_slice(&chars[..a]);
            out.extend(tokens[rng.below(tokens.len())].chars());
            out.extend_from_slice(&chars[a..]);
        }
        _ => {
            let c = rng.below(chars.len());
            out.extend_from_slice(&chars[..a]);
            out.extend_from_slice(&chars[c..(c + 8).min(chars.len())]);
            out.extend_from_slice(&chars[a..]);
        }
    }
    out.into_iter().collect()
}

fn run_bounded(name: &str, source: &str) {
    let mut vm = Vm::new();
    vm.set_output(Box::new(std::io::sink()));
    let file = SourceFile::new(name, source);
    let module = vm.new_module("<main>");
    if let Ok(main) = vm.compile(module, file, false) {
        vm.start(main);
        let _: Halt = vm.run(20_000);
    }
}

#[test]
fn mutated_scripts_never_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/scripts");
    let mut files = Vec::new();
    scripts(&root, &mut files);
    files.sort();
    assert!(
        !files.is_empty(),
        "no scripts found under {}",
        root.display()
    );
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    for path in &files {
        let text = std::fs::read_to_string(path).expect("read script");
        let name = path.to_string_lossy().to_string();
        run_bounded(&name, &text);
        let mut current = text;
        for round in 0..12 {
            current = mutate(&current, &mut rng);
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_bounded(&name, &current)
            }));
            assert!(
                outcome.is_ok(),
                "panic on mutation {round} of {name}:\n{current}"
            );
        }
    }
}

/// A program compiled by one VM cannot run in another: its frames would point at functions the
/// other VM does not keep, and its code was checked against the first VM's modules. Starting it
/// is a clear panic, not a run on dangling code.
#[test]
#[should_panic(expected = "compiled by another Vm")]
fn a_program_from_another_vm_is_refused() {
    let mut other = Vm::new();
    let module = other.new_module("<main>");
    let main = other
        .compile(module, SourceFile::new("other.weft", "print(1)"), false)
        .expect("compiles");
    let mut vm = Vm::new();
    vm.start(main);
}
