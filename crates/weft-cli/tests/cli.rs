//! End-to-end tests of the `weft` command: exit codes, diagnostics and disassembly snapshots.

use std::path::PathBuf;
use std::process::{Command, Output};

fn weft(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .output()
        .expect("weft runs")
}

/// Writes `source` to a fresh temp file named `name` and returns its path.
fn temp_file(name: &str, source: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "weft-cli-{}-{}",
        std::process::id(),
        name.replace('.', "_")
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, source).expect("write temp file");
    path
}

/// Starts `weft args...` in `dir` with stdout piped and returns it after its first line of output
/// (the script prints it once it is ready: the runtime flushes output when it goes idle).
#[cfg(unix)]
fn start_weft(
    args: &[&str],
    dir: Option<&std::path::Path>,
) -> (
    std::process::Child,
    std::io::BufReader<std::process::ChildStdout>,
    String,
) {
    use std::io::BufRead;
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    command
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let mut child = command.spawn().expect("weft starts");
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    (child, stdout, line)
}

/// Sends `signal` (`-QUIT`, `-TERM`) to a child process.
#[cfg(unix)]
fn signal(child: &std::process::Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

fn stderr_with_path_hidden(output: &Output, path: &std::path::Path) -> String {
    String::from_utf8_lossy(&output.stderr).replace(&*path.to_string_lossy(), "FILE")
}

#[test]
fn check_reports_every_error_with_caret_and_exit_65() {
    let path = temp_file(
        "bad.weft",
        "let x = 1 +\nlet = 3\nlet y = [1, 2\nfn f(a,, b) { a }\nlet ok = @\nprint(ok)\n",
    );
    let output = weft(&["check", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(65));
    insta::assert_snapshot!("check_errors", stderr_with_path_hidden(&output, &path));
}

#[test]
fn compile_error_in_run_exits_65() {
    let path = temp_file("const.weft", "const LIMIT = 10\nLIMIT = 11\n");
    let output = weft(&["run", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(65));
    insta::assert_snapshot!("const_assignment", stderr_with_path_hidden(&output, &path));
}

#[test]
fn uncaught_error_prints_kind_message_and_trace_and_exits_70() {
    let path = temp_file(
        "trace.weft",
        "fn inner(xs) {\n  xs[10]\n}\nfn outer() { inner([1, 2]) }\nouter()\n",
    );
    let output = weft(&["run", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(70));
    insta::assert_snapshot!("uncaught_trace", stderr_with_path_hidden(&output, &path));
}

#[test]
fn disasm_shows_every_function() {
    let path = temp_file(
        "dis.weft",
        "fn add(a, b = 1) { a + b }\nlet f = |x| add(x) * 2\nprint(f(3))\n",
    );
    let output = weft(&["disasm", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    insta::assert_snapshot!("disasm", text);
}

#[test]
fn missing_file_and_bad_usage_have_their_exit_codes() {
    let output = weft(&["run", "/definitely/not/here.weft"]);
    assert_eq!(output.status.code(), Some(66));
    assert!(String::from_utf8_lossy(&output.stderr)
        .starts_with("error: cannot read '/definitely/not/here.weft'"));
    let output = weft(&["frobnicate"]);
    assert_eq!(output.status.code(), Some(64));
}

#[test]
fn os_args_reach_the_program() {
    let path = temp_file("args.weft", "import os\nprint(os.args)\n");
    let output = weft(&["run", path.to_str().unwrap(), "a", "--flag", "3"]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "[\"a\", \"--flag\", \"3\"]\n"
    );
}

#[test]
fn test_command_runs_each_test_function_on_virtual_time_and_summarises() {
    let dir = temp_file(
        "timing_test.weft",
        "fn test_clock_starts_at_zero() { sleep(250); assert(now() == 250.0, \"virtual clock\") }\n\
         fn test_detached_tasks_finish_within_their_test() { spawn_detached { sleep(10); print(\"late\") } }\n\
         fn test_failure_is_reported() { let t = spawn { throw error(\"ValueError\", \"bad\") }; await t }\n\
         fn test_deadlock_fails() { channel().recv() }\n\
         fn helper() { throw error(\"ValueError\", \"not a test\") }\n",
    );
    let dir = dir.parent().unwrap().to_path_buf();
    std::fs::write(dir.join("ignored.weft"), "throw 1\n").unwrap();
    let output = weft(&["test", dir.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(70));
    let stdout = String::from_utf8_lossy(&output.stdout).replace(&*dir.to_string_lossy(), "DIR");
    insta::assert_snapshot!("test_command", stdout);
}

#[test]
fn test_command_passes_with_exit_0() {
    let path = temp_file("ok_test.weft", "fn test_one() { assert(1 + 1 == 2) }\n");
    let output = weft(&["test", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.ends_with("1 passed, 0 failed\n"), "{stdout}");
}

#[cfg(unix)]
#[test]
fn sigquit_dumps_every_task_and_where_it_waits() {
    use std::io::Read;
    let path = temp_file(
        "dump.weft",
        "let ch = channel()\nlet t = spawn { ch.recv() }\nprint(\"ready\")\nsleep(300)\nch.send(1)\n",
    );
    let (mut child, _, line) = start_weft(
        &["run", "--dump-tasks-on-signal", path.to_str().unwrap()],
        None,
    );
    assert_eq!(line, "ready\n");
    signal(&child, "-QUIT");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let stderr = stderr.replace(&*path.to_string_lossy(), "FILE");
    assert!(stderr.starts_with("--- 2 tasks at "), "{stderr}");
    assert!(
        stderr.contains("task 1 (main): sleeping at <main> FILE:4:1\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "task 2 (spawned at <main> FILE:2:9): receiving from a channel at <spawn> FILE:2:17\n"
        ),
        "{stderr}"
    );
}

#[test]
fn every_example_runs_to_completion() {
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut ran = 0;
    for entry in std::fs::read_dir(&examples).expect("examples/") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "weft") {
            let output = weft(&["run", "--allow-net=127.0.0.1", path.to_str().unwrap()]);
            assert_eq!(
                output.status.code(),
                Some(0),
                "{}: {}",
                path.display(),
                String::from_utf8_lossy(&output.stderr)
            );
            ran += 1;
        }
    }
    assert!(ran >= 2, "only {ran} examples found");
}

/// Runs `source` as `main.weft` in a fresh temp folder (the current directory) with `flags`.
fn run_in_temp_dir(name: &str, source: &str, flags: &[&str]) -> (Output, PathBuf) {
    let dir = std::env::temp_dir().join(format!("weft-fs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("main.weft"), source).unwrap();
    std::fs::write(dir.join("secret.txt"), "secret\n").unwrap();
    let mut args = vec!["run"];
    args.extend_from_slice(flags);
    args.push("main.weft");
    let output = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(&args)
        .current_dir(&dir)
        .output()
        .expect("weft runs");
    (output, dir)
}

#[test]
fn fs_reads_and_writes_real_files_within_its_grants() {
    let source = r#"
import fs
fs.mkdir("data/sub")
fs.write_text("data/sub/a.txt", "one\n")
fs.append("data/sub/a.txt", "two\n")
print(fs.read_text("data/sub/a.txt") == "one\ntwo\n", fs.read_bytes("data/sub/a.txt")[0])
print(fs.exists("data/sub/a.txt"), fs.exists("data/none"), fs.list_dir("data/sub"))
print(try { fs.read_text("data/none") } catch e { e.kind })
fs.remove("data/sub")
print(fs.list_dir("data"))
"#;
    let (output, dir) = run_in_temp_dir("rw", source, &["--allow-read=data", "--allow-write=data"]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "true 111\ntrue false [\"a.txt\"]\nIOError\n[]\n",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!dir.join("data/sub").exists());
}

#[test]
fn fs_denies_what_is_not_granted_and_cannot_be_escaped() {
    let source = r#"
import fs
import os
for attempt in [
  || fs.read_text("secret.txt"),
  || fs.read_text("data/../secret.txt"),
  || fs.read_text("data/link/secret.txt"),
  || fs.write_text("data/x.txt", "x"),
  || os.env("HOME"),
] {
  print(try { attempt() } catch e { e })
}
"#;
    let (_, dir) = run_in_temp_dir("deny", "", &[]);
    #[cfg(unix)]
    std::os::unix::fs::symlink(&dir, dir.join("data/link")).unwrap();
    std::fs::write(dir.join("main.weft"), source).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["run", "--allow-read=data", "main.weft"])
        .current_dir(&dir)
        .output()
        .expect("weft runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        vec![
            "PermissionDenied: reading 'secret.txt' is not allowed: run with --allow-read",
            "PermissionDenied: reading 'data/../secret.txt' is not allowed: run with --allow-read",
            "PermissionDenied: reading 'data/link/secret.txt' is not allowed: run with --allow-read",
            "PermissionDenied: writing 'data/x.txt' is not allowed: run with --allow-write",
            "PermissionDenied: os.env needs access to the environment: run with --allow-env",
        ],
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // --allow-all grants everything.
    let output = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["run", "--allow-all", "main.weft"])
        .current_dir(&dir)
        .output()
        .expect("weft runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("secret\n\nsecret\n\nsecret\n\nnil\n"),
        "{stdout}"
    );
}

#[cfg(unix)]
#[test]
fn process_run_starts_real_subprocesses_with_allow_run_only() {
    let source = r#"
import process
print(process.run("sh", ["-c", "read x; echo got $x; echo oops >&2; exit 3"], {stdin: "hi\n"}))
print(try { process.run("sleep", ["5"], {timeout: 50}) } catch e { e })
print(try { process.run("no-such-command-for-weft") } catch e { e.kind })
"#;
    let (output, _) = run_in_temp_dir("proc", source, &["--allow-run"]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "{\"code\": 3, \"stdout\": \"got hi\\n\", \"stderr\": \"oops\\n\"}\n\
         Timeout: 'sleep' did not finish within 50 ms and was killed\nIOError\n",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (output, _) = run_in_temp_dir("proc-denied", source, &[]);
    assert_eq!(output.status.code(), Some(70));
    assert!(String::from_utf8_lossy(&output.stderr)
        .starts_with("error: PermissionDenied: running 'sh' is not allowed: run with --allow-run"));
}

#[test]
fn net_talks_over_real_loopback_sockets_within_its_grant() {
    let source = r#"
import net
let server = net.listen("127.0.0.1", 0)
let served = spawn {
  let conn = server.accept()
  let got = [conn.read_line(), conn.read(3), conn.read_line()]
  conn.write("bye\n")
  conn.close()
  got
}
let client = net.connect("127.0.0.1", server.port)
client.write("line one\nabcdef\n")
print(client.read_line(), client.read_line())
client.close()
print(await served)
// Port 1 on loopback: nothing listens there, so the connection is refused.
print(try { net.connect("127.0.0.1", 1) } catch e { e.kind })
"#;
    let (output, _) = run_in_temp_dir("net", source, &["--allow-net=127.0.0.1"]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "bye nil\n[\"line one\", \"abc\", \"def\"]\nIOError\n",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (output, _) = run_in_temp_dir("net-denied", source, &["--allow-net=example.com:80"]);
    assert_eq!(output.status.code(), Some(70));
    assert!(String::from_utf8_lossy(&output.stderr).starts_with(
        "error: PermissionDenied: network access to 127.0.0.1:0 is not allowed: run with --allow-net"
    ));
}

#[cfg(unix)]
#[test]
fn cancelling_a_task_stops_its_subprocess() {
    let source = r#"
import process
import fs
// The child would create `marker` after 300 ms; the deadline cancels its task at 50 ms.
print(move_on(50, || process.run("sh", ["-c", "sleep 0.3; touch marker"])))
sleep(600)
print("killed:", not fs.exists("marker"))
"#;
    let (output, _) = run_in_temp_dir("kill-child", source, &["--allow-run", "--allow-read"]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "nil\nkilled: true\n",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn http_serves_real_requests_and_its_client_talks_to_it() {
    let source = r#"
import http
fn handler(req) {
  match req.path {
    "/hello" => "hello ${req.query}",
    "/json" => ({status: 201, headers: {"x-weft": "yes"}, body: {n: 1}}),
    "/fail" => throw error("ValueError", "handler broke"),
    "/echo" => req.body,
    _ => ({status: 404, body: "not found"}),
  }
}
let [server, port] = http.start(0, handler)
let base = "http://127.0.0.1:${port}"
for path in ["/hello?name=weft", "/json", "/fail", "/nope"] {
  let r = http.get(base + path, {timeout: 2000})
  print(r.status, r.body)
}
print(http.post("${base}/echo", "posted", {timeout: 2000}).body)
print(http.get("${base}/json").headers["x-weft"])
server.cancel()
print(try { http.get("http://127.0.0.1:1/") } catch e { e.kind })
"#;
    let (output, _) = run_in_temp_dir("http", source, &["--allow-net=127.0.0.1"]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "200 hello name=weft\n201 {\"n\":1}\n500 internal server error\n404 not found\nposted\nyes\nIOError\n",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The failing handler was logged, and the server kept serving.
    assert!(String::from_utf8_lossy(&output.stderr)
        .contains("http: GET /fail failed: ValueError: handler broke"));
}

#[cfg(unix)]
#[test]
fn curl_gets_answers_from_http_serve() {
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("curl is not installed: skipped");
        return;
    }
    let (_, dir) = run_in_temp_dir("curl", "", &[]);
    std::fs::write(
        dir.join("main.weft"),
        "import http\nlet [server, port] = http.start(0, |req| \"${req.method} ${req.path}\")\nprint(port)\nsleep(5000)\n",
    )
    .unwrap();
    let (mut child, _, port) =
        start_weft(&["run", "--allow-net=127.0.0.1", "main.weft"], Some(&dir));
    let url = format!("http://127.0.0.1:{}/from-curl", port.trim());
    let out = Command::new("curl")
        .args(["-s", "-X", "PUT", &url])
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "PUT /from-curl");
}

#[cfg(unix)]
#[test]
fn sigterm_stops_http_gracefully_answering_requests_in_flight() {
    use std::io::{Read, Write};
    let (_, dir) = run_in_temp_dir("graceful", "", &[]);
    std::fs::write(
        dir.join("main.weft"),
        "import http\n\
         let [server, port] = http.start(0, |req| { sleep(300); \"slow answer\" })\n\
         print(port)\n\
         await server\n\
         print(\"server stopped gracefully\")\n",
    )
    .unwrap();
    let (mut child, mut stdout, port) =
        start_weft(&["run", "--allow-net=127.0.0.1", "main.weft"], Some(&dir));
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port.trim().parse::<u16>().unwrap()))
        .expect("connects");
    conn.write_all(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    signal(&child, "-TERM");
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    assert!(response.ends_with("slow answer"), "{response}");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "server stopped gracefully\n");
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn fs_open_streams_lines_in_and_out() {
    let source = r#"
import fs
let out = fs.open("data/log.txt", "w")
for i in 1..=3 { out.write("line ${i}\n") }
out.close()
let more = fs.open("data/log.txt", "a")
more.write("line 4\r\n")
more.close()
let input = fs.open("data/log.txt")
let lines = []
let line = input.read_line()
while line != nil {
  lines.push(line)
  line = input.read_line()
}
input.close()
print(lines)
print(try { input.read_line() } catch e { e.kind })
print(try { fs.open("secret.txt") } catch e { e.kind })
"#;
    let (output, _) = run_in_temp_dir(
        "stream",
        source,
        &["--allow-read=data", "--allow-write=data"],
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "[\"line 1\", \"line 2\", \"line 3\", \"line 4\"]\nIOError\nPermissionDenied\n",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
