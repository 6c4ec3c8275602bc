//! Golden script tests: runs every `tests/scripts/**/*.weft` through the `weft` binary and checks
//! its stdout, stderr and exit code against the expectation comments in the script.
//!
//! The comment syntax is described in `tests/README.md`. In short:
//! `// expect: line`, `// expect error line N: message`, `// expect runtime error: Kind: message`,
//! `// expect exit: N`, `// expect stderr: line`, `// expect trace: fn path:line`, `// args: a b`,
//! `// flags: --max-tasks 5` (options of `weft run`),
//! `// cmd: check`.
//!
//! Files inside a directory whose name starts with `_` (for example `_modules/`, imported by other
//! scripts) are not tests. The binary runs with the workspace root as its current directory and the
//! script path relative to it (`tests/scripts/area/name.weft`), so traces and diagnostics print that
//! path. Every run is killed after [`TIMEOUT`]; nothing may hang.
//!
//! This target uses `harness = false` (datatest-stable), so the harness checks its own expectation
//! parser and output matcher through `self_test`, which runs on `tests/scripts/_harness/*.txt`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one script may run before it is killed and the test fails.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Exit code of a compile error.
const EXIT_COMPILE_ERROR: i32 = 65;
/// Exit code of an uncaught runtime error.
const EXIT_RUNTIME_ERROR: i32 = 70;

mod expect {
    //! Parsing the expectation comments of a script and matching a run's output against them.

    /// A compile error the script must produce.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct CompileError {
        /// 1-based line the diagnostic must point at.
        pub line: usize,
        /// Text the diagnostic's message must contain (empty: any message).
        pub message: String,
    }

    /// A trace frame the uncaught error's trace must contain.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct TraceFrame {
        /// Function name as printed in `at fn (...)`.
        pub function: String,
        /// Script path as printed (relative to the workspace root).
        pub file: String,
        /// 1-based line; the column is not checked.
        pub line: usize,
    }

    /// Everything a script expects from its run.
    #[derive(Debug, Default, Clone, PartialEq, Eq)]
    pub struct Expectations {
        /// Exact stdout lines, in order.
        pub stdout: Vec<String>,
        /// Compile errors (exit 65).
        pub compile_errors: Vec<CompileError>,
        /// `Kind: message` of the uncaught runtime error (exit 70).
        pub runtime_error: Option<String>,
        /// Explicit exit code.
        pub exit: Option<i32>,
        /// Lines stderr must contain.
        pub stderr: Vec<String>,
        /// Trace frames stderr must contain, in this order.
        pub trace: Vec<TraceFrame>,
        /// Extra command line arguments after the script path.
        pub args: Vec<String>,
        /// Options of `weft run` before the script path (`// flags: --max-tasks 5`).
        pub flags: Vec<String>,
        /// Subcommand (`run` unless `// cmd:` says otherwise).
        pub command: Option<String>,
    }

    impl Expectations {
        /// The exit code the run must end with.
        pub fn expected_exit(&self) -> i32 {
            if let Some(code) = self.exit {
                code
            } else if !self.compile_errors.is_empty() {
                super::EXIT_COMPILE_ERROR
            } else if self.runtime_error.is_some() {
                super::EXIT_RUNTIME_ERROR
            } else {
                0
            }
        }
    }

    /// Parses the expectation comments of `source`. Errors name the offending line.
    pub fn parse(source: &str) -> Result<Expectations, String> {
        let mut exp = Expectations::default();
        for (idx, line) in source.lines().enumerate() {
            let line_no = idx + 1;
            let err = |what: &str| format!("line {line_no}: {what}: {line:?}");
            if let Some(pos) = line.find("// flags:") {
                let rest = &line[pos + "// flags:".len()..];
                exp.flags.extend(rest.split_whitespace().map(String::from));
                continue;
            }
            if let Some(pos) = line.find("// args:") {
                let rest = &line[pos + "// args:".len()..];
                exp.args.extend(rest.split_whitespace().map(str::to_string));
                continue;
            }
            if let Some(pos) = line.find("// cmd:") {
                let rest = line[pos + "// cmd:".len()..].trim();
                if rest.is_empty() {
                    return Err(err("empty `// cmd:`"));
                }
                exp.command = Some(rest.to_string());
                continue;
            }
            let Some(pos) = line.find("// expect") else {
                continue;
            };
            let directive = &line[pos + "// expect".len()..];
            if directive.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
                // `// expected ...` or `// expectation` in prose is not a directive.
                continue;
            }
            if let Some(text) = directive.strip_prefix(':') {
                // `// expect: text`; `// expect:` or `// expect: ` alone is an empty line.
                exp.stdout
                    .push(text.strip_prefix(' ').unwrap_or(text).to_string());
            } else if let Some(rest) = directive.strip_prefix(" error line ") {
                let (num, message) = match rest.split_once(':') {
                    Some((num, message)) => (num, message.trim()),
                    None => (rest, ""),
                };
                let line = num.trim().parse().map_err(|_| err("bad line number"))?;
                exp.compile_errors.push(CompileError {
                    line,
                    message: message.to_string(),
                });
            } else if let Some(rest) = directive.strip_prefix(" runtime error:") {
                let text = rest.trim();
                if text.is_empty() || exp.runtime_error.is_some() {
                    return Err(err("runtime error must be given once, with a text"));
                }
                exp.runtime_error = Some(text.to_string());
            } else if let Some(rest) = directive.strip_prefix(" exit:") {
                exp.exit = Some(rest.trim().parse().map_err(|_| err("bad exit code"))?);
            } else if let Some(rest) = directive.strip_prefix(" stderr:") {
                exp.stderr
                    .push(rest.strip_prefix(' ').unwrap_or(rest).to_string());
            } else if let Some(rest) = directive.strip_prefix(" trace:") {
                exp.trace
                    .push(parse_trace(rest.trim()).ok_or_else(|| err("bad trace frame"))?);
            } else {
                return Err(err("unknown expectation"));
            }
        }
        Ok(exp)
    }

    /// Parses `fn path:line`.
    fn parse_trace(text: &str) -> Option<TraceFrame> {
        let (function, location) = text.rsplit_once(' ')?;
        let (file, line) = location.rsplit_once(':')?;
        Some(TraceFrame {
            function: function.trim().to_string(),
            file: file.to_string(),
            line: line.parse().ok()?,
        })
    }

    /// Removes ANSI colour escapes (`ESC [ ... letter`) so diagnostics match with or without colour.
    pub fn strip_ansi(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' && chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    /// Splits output into lines; a final newline does not start another line.
    pub fn output_lines(text: &str) -> Vec<String> {
        text.lines()
            .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
            .collect()
    }

    /// True when `line` contains `:N:<digits>: error: ` followed by text containing `message`.
    pub fn matches_compile_error(line: &str, expected: &CompileError) -> bool {
        let needle = format!(":{}:", expected.line);
        let mut start = 0;
        while let Some(found) = line[start..].find(&needle) {
            let after = &line[start + found + needle.len()..];
            let digits = after.chars().take_while(char::is_ascii_digit).count();
            if digits > 0 {
                if let Some(message) = after[digits..].strip_prefix(": error: ") {
                    if message.contains(expected.message.as_str()) {
                        return true;
                    }
                }
            }
            start += found + 1;
        }
        false
    }

    /// True when `line` is `  at fn (file:line:col)` for the expected frame and any column.
    pub fn matches_trace(line: &str, frame: &TraceFrame) -> bool {
        let prefix = format!("at {} ({}:{}:", frame.function, frame.file, frame.line);
        let Some(rest) = line.trim_start().strip_prefix(&prefix) else {
            return false;
        };
        let Some(col) = rest.strip_suffix(')') else {
            return false;
        };
        !col.is_empty() && col.chars().all(|c| c.is_ascii_digit())
    }

    /// Output of one run of the binary.
    #[derive(Debug, Clone)]
    pub struct Outcome {
        /// Captured stdout.
        pub stdout: String,
        /// Captured stderr.
        pub stderr: String,
        /// Exit code (`None` when killed by a signal).
        pub exit: Option<i32>,
    }

    /// Checks a run against the expectations; returns every mismatch found.
    pub fn check(exp: &Expectations, outcome: &Outcome) -> Vec<String> {
        let mut problems = Vec::new();
        let stdout = output_lines(&outcome.stdout);
        let stderr_text = strip_ansi(&outcome.stderr);
        let stderr = output_lines(&stderr_text);

        if stdout != exp.stdout {
            problems.push(format!(
                "stdout differs:\n{}",
                line_diff(&exp.stdout, &stdout)
            ));
        }
        let want_exit = exp.expected_exit();
        if outcome.exit != Some(want_exit) {
            problems.push(format!(
                "exit code: expected {want_exit}, got {:?}",
                outcome.exit
            ));
        }
        for error in &exp.compile_errors {
            if !stderr.iter().any(|line| matches_compile_error(line, error)) {
                problems.push(format!(
                    "stderr has no compile error at line {} with a message containing {:?} \
                     (expected `<file>:{}:<col>: error: ...`)",
                    error.line, error.message, error.line
                ));
            }
        }
        if let Some(runtime) = &exp.runtime_error {
            let want = format!("error: {runtime}");
            let first = stderr.first().map(String::as_str).unwrap_or("<no stderr>");
            if first != want {
                problems.push(format!(
                    "first stderr line: expected {want:?}, got {first:?}"
                ));
            }
        }
        for want in &exp.stderr {
            if !stderr.iter().any(|line| line == want) {
                problems.push(format!("stderr has no line equal to {want:?}"));
            }
        }
        let mut from = 0;
        for frame in &exp.trace {
            match stderr[from.min(stderr.len())..]
                .iter()
                .position(|l| matches_trace(l, frame))
            {
                Some(pos) => from += pos + 1,
                None => problems.push(format!(
                    "stderr has no trace line `  at {} ({}:{}:<col>)` (in order) after line {}",
                    frame.function, frame.file, frame.line, from
                )),
            }
        }
        problems
    }

    /// A line-by-line comparison: `  ` same, `- ` expected only, `+ ` actual only.
    pub fn line_diff(expected: &[String], actual: &[String]) -> String {
        let mut out = String::new();
        let n = expected.len().max(actual.len());
        for idx in 0..n {
            match (expected.get(idx), actual.get(idx)) {
                (Some(e), Some(a)) if e == a => {
                    out.push_str(&format!("    {:>3}   {e}\n", idx + 1))
                }
                (e, a) => {
                    if let Some(e) = e {
                        out.push_str(&format!("    {:>3} - {e}\n", idx + 1));
                    }
                    if let Some(a) = a {
                        out.push_str(&format!("    {:>3} + {a}\n", idx + 1));
                    }
                }
            }
        }
        out.push_str("    (- expected, + actual)\n");
        out
    }
}

/// The workspace root, the current directory of every run.
fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// The script path relative to the workspace root, with `/` separators.
fn relative_script_path(path: &Path) -> Result<String, String> {
    let root = workspace_root();
    let full = path
        .canonicalize()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let rel = full
        .strip_prefix(&root)
        .map_err(|_| format!("{} is not under {}", full.display(), root.display()))?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Ok(parts.join("/"))
}

/// Runs the binary with a timeout, reading both pipes on their own threads.
fn run_weft(args: &[String]) -> Result<expect::Outcome, String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .current_dir(workspace_root())
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", env!("CARGO_BIN_EXE_weft")))?;
    let mut stdout_pipe = child.stdout.take().expect("stdout is piped");
    let mut stderr_pipe = child.stderr.take().expect("stderr is piped");
    let stdout_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout_pipe.read_to_end(&mut buf);
        buf
    });
    let stderr_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut buf);
        buf
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) => break Some(status),
            None if started.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    let stdout = String::from_utf8_lossy(&stdout_reader.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&stderr_reader.join().unwrap_or_default()).into_owned();
    match status {
        Some(status) => Ok(expect::Outcome { stdout, stderr, exit: status.code() }),
        None => Err(format!(
            "timed out after {} s and was killed\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
            TIMEOUT.as_secs()
        )),
    }
}

/// A test failure whose `Debug` output is the plain report (datatest-stable prints errors with
/// `{:?}`, which would otherwise escape every newline of the diff).
struct Failure(String);

impl std::fmt::Debug for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

/// Wraps a message as a boxed [`Failure`].
fn fail(message: impl Into<String>) -> Box<dyn std::error::Error> {
    Box::new(Failure(message.into()))
}

/// Shortens long captured output for the failure message.
fn excerpt(text: &str) -> String {
    const MAX: usize = 4000;
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut cut = MAX;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}\n... ({} more bytes)", &text[..cut], text.len() - cut)
}

/// One golden script.
fn run_script(path: &Path, source: String) -> datatest_stable::Result<()> {
    let exp = expect::parse(&source).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    let rel = relative_script_path(path).map_err(fail)?;
    let command = exp.command.clone().unwrap_or_else(|| "run".to_string());
    // Golden scripts run on virtual time, so timing-dependent output is exact (DESIGN.md).
    let mut args = if command == "run" {
        vec![command, "--virtual-time".to_string()]
    } else {
        vec![command]
    };
    args.extend(exp.flags.iter().cloned());
    args.push(rel.clone());
    args.extend(exp.args.iter().cloned());
    let outcome = run_weft(&args).map_err(|e| fail(format!("weft {}: {e}", args.join(" "))))?;
    let problems = expect::check(&exp, &outcome);
    if problems.is_empty() {
        return Ok(());
    }
    let mut report = format!(
        "weft {} (in {})\n",
        args.join(" "),
        workspace_root().display()
    );
    for problem in &problems {
        report.push_str(&format!("* {problem}\n"));
    }
    report.push_str(&format!(
        "--- expected exit {}, got {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}\n",
        exp.expected_exit(),
        outcome.exit,
        excerpt(&outcome.stdout),
        excerpt(&outcome.stderr)
    ));
    Err(fail(report))
}

/// Checks the expectation parser and matcher. The fixture file under `_harness/` holds one of
/// every comment form; the assertions below say what it must parse to.
fn self_test(path: &Path, source: String) -> datatest_stable::Result<()> {
    use expect::*;
    let exp = parse(&source).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    let want = Expectations {
        stdout: vec!["1".into(), "".into(), "a  b".into(), "last".into()],
        compile_errors: vec![
            CompileError {
                line: 4,
                message: "expected expression".into(),
            },
            CompileError {
                line: 12,
                message: String::new(),
            },
        ],
        runtime_error: Some("ValueError: no match arm matched 3".into()),
        exit: Some(3),
        stderr: vec!["warning: x".into()],
        trace: vec![TraceFrame {
            function: "f".into(),
            file: "tests/x.weft".into(),
            line: 3,
        }],
        args: vec!["a".into(), "b".into(), "c".into()],
        flags: vec!["--max-tasks".into(), "5".into()],
        command: Some("check".into()),
    };
    if exp != want {
        return Err(fail(format!("parsed {exp:#?}\nexpected {want:#?}")));
    }

    let mut failures = Vec::new();
    let mut claim = |ok: bool, what: &str| {
        if !ok {
            failures.push(what.to_string());
        }
    };
    claim(
        parse("// expect nonsense").is_err(),
        "unknown directive is rejected",
    );
    claim(
        parse("// expected value").unwrap() == Expectations::default(),
        "prose is skipped",
    );
    claim(
        parse("// expect exit: x").is_err(),
        "bad exit code is rejected",
    );
    claim(
        parse("x // expect:").unwrap().stdout == vec![String::new()],
        "bare expect: is empty",
    );
    claim(
        parse("// expect runtime error: E: m")
            .unwrap()
            .expected_exit()
            == 70,
        "runtime => 70",
    );
    claim(
        parse("// expect error line 2: m").unwrap().expected_exit() == 65,
        "compile => 65",
    );
    claim(
        parse("print(1)").unwrap().expected_exit() == 0,
        "default exit 0",
    );

    let ce = CompileError {
        line: 3,
        message: "expected expression".into(),
    };
    claim(
        matches_compile_error(
            "tests/a.weft:3:7: error: expected expression, found ')'",
            &ce,
        ),
        "compile error matches with column and longer message",
    );
    claim(
        !matches_compile_error("tests/a.weft:3: error: expected expression", &ce),
        "needs col",
    );
    claim(
        !matches_compile_error("tests/a.weft:13:1: error: expected expression", &ce),
        "line 13",
    );
    claim(
        !matches_compile_error("tests/a.weft:3:1: warning: expected expression", &ce),
        "warning",
    );
    claim(
        matches_compile_error(
            "tests/a.weft:3:1: error: x",
            &CompileError {
                line: 3,
                message: String::new(),
            },
        ),
        "empty message matches any",
    );
    let frame = TraceFrame {
        function: "f".into(),
        file: "t/a.weft".into(),
        line: 3,
    };
    claim(
        matches_trace("  at f (t/a.weft:3:12)", &frame),
        "trace line",
    );
    claim(
        !matches_trace("  at f (t/a.weft:33:1)", &frame),
        "trace other line",
    );
    claim(
        !matches_trace("  at g (t/a.weft:3:1)", &frame),
        "trace other fn",
    );
    claim(
        strip_ansi("\u{1b}[1;31merror\u{1b}[0m: x") == "error: x",
        "ansi stripped",
    );

    let exp = parse("print(1) // expect: 1\n1 // 0 // expect runtime error: ZeroDivisionError: division by zero\n// expect trace: f t/a.weft:3").unwrap();
    let good = Outcome {
        stdout: "1\n".into(),
        stderr: "error: ZeroDivisionError: division by zero\n  at f (t/a.weft:3:5)\n  at <main> (t/a.weft:9:1)\n".into(),
        exit: Some(70),
    };
    claim(check(&exp, &good).is_empty(), "matching outcome passes");
    let mut bad = good.clone();
    bad.stdout = "1\n2\n".into();
    claim(check(&exp, &bad).len() == 1, "extra stdout line fails");
    let mut bad = good.clone();
    bad.exit = Some(1);
    claim(check(&exp, &bad).len() == 1, "wrong exit fails");
    let mut bad = good.clone();
    bad.stderr =
        "warning\nerror: ZeroDivisionError: division by zero\n  at f (t/a.weft:3:5)\n".into();
    claim(
        check(&exp, &bad).len() == 1,
        "error must be the first stderr line",
    );
    let exp2 = parse("// expect trace: g t/a.weft:1\n// expect trace: f t/a.weft:3\n// expect runtime error: E: m").unwrap();
    let swapped = Outcome {
        stdout: String::new(),
        stderr: "error: E: m\n  at f (t/a.weft:3:5)\n  at g (t/a.weft:1:1)\n".into(),
        exit: Some(70),
    };
    claim(check(&exp2, &swapped).len() == 1, "trace order is checked");

    if failures.is_empty() {
        Ok(())
    } else {
        Err(fail(format!("harness self-test failures: {failures:?}")))
    }
}

datatest_stable::harness! {
    {
        test = run_script,
        root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/scripts"),
        // Skip anything inside a directory whose name starts with `_` (helpers, fixtures).
        pattern = r"^(?:[^_/][^/]*/)*[^/]+\.weft$",
    },
    {
        test = self_test,
        root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/scripts/_harness"),
        pattern = r"\.txt$",
    },
}
