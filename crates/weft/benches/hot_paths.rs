//! Criterion micro-benchmarks of the interpreter's hot paths (issue 3): instruction dispatch,
//! calls, field access, method calls, map get/set, allocation (with the collector running) and
//! strings.
//!
//! `bench/run.sh` times whole programs against other languages; these time one construct at a
//! time, so a change to the VM shows which path it moved. Every benchmark is a Weft function
//! compiled once, when its fixture is made, and then called through the embedding API
//! (`weft::Vm::call`) many times: what is measured is the interpreter, not the parser or the
//! compiler. Each call does a fixed amount of work (N operations, about 0.1-1 ms) and is
//! reported as time per call and as throughput (N elements per call, so `thrpt` reads as
//! operations per second). Each result is checked once against a value computed in Rust before
//! timing starts, so a broken interpreter fails loudly instead of timing a wrong answer.
//!
//! `host/noop` times a call that does no work: the fixed cost of `Vm::call` (a task, the event
//! loop), which is included in every other figure (about a microsecond against 0.1-1 ms). The
//! benchmarks use the facade rather than `weft_vm::Vm` directly because its `eval`/`call` are the
//! stable way a host runs a script; driving the scheduler by hand would tie them to VM internals.
//!
//! Run: `cargo bench -p weft --bench hot_paths` (about a minute; `-- <filter>` for some, e.g.
//! `-- maps/`). Baselines: `-- --save-baseline before`, then `-- --baseline before` after a change.

// `criterion::black_box` is deprecated in favour of the standard one.
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use weft::Value;

/// Every benchmarked function. Each takes N and returns an int checksum. The work is inside
/// functions so that variables are locals (registers), as in `bench/*.weft`; a top-level `let`
/// would be a module global.
const SOURCE: &str = r#"
// dispatch: arithmetic and loop instructions only, no calls or allocation.
fn int_loop(n) {
  let x = 0
  for i in 0..n { x = (x * 31 + i) % 1000003 }
  x
}

fn while_loop(n) {
  let i = 0
  let s = 0
  while i < n {
    s = s + i * 2
    i = i + 1
  }
  s
}

fn branches(n) {
  let s = 0
  for i in 0..n {
    if i % 3 == 0 { s = s + 1 } else if i % 3 == 1 { s = s - 1 } else { s = s + 2 }
  }
  s
}

// calls: frames pushed and popped.
fn fib(n) {
  if n < 2 { return n }
  fib(n - 1) + fib(n - 2)
}

fn add(a, b) { a + b }

fn call_loop(n) {
  let s = 0
  for i in 0..n { s = add(s, i) }
  s
}

fn closure_loop(n) {
  let k = 3
  let f = |x| x + k
  let s = 0
  for i in 0..n { s = s + f(i) }
  s
}

// fields: instance field get and set, inside a method (on self) and from outside.
class Acc {
  fn init() { self.n = 0 }
  fn run(n) {
    for i in 0..n { self.n = self.n + i }
    self.n
  }
}

fn field_self(n) { Acc().run(n) }

class Point {
  fn init(x, y) { self.x = x; self.y = y }
}

fn field_other(n) {
  let p = Point(0, 0)
  for i in 0..n {
    p.x = p.x + 1
    p.y = p.y + p.x
  }
  p.y
}

// methods: a method looked up on an instance and called, as bench/calls.weft does.
class Counter {
  fn init() { self.n = 0 }
  fn add(x) { self.n = self.n + x }
}

fn method_loop(n) {
  let c = Counter()
  for i in 0..n { c.add(i) }
  c.n
}

// maps: `set` builds a fresh map (so it includes growing it); `get` reads a map built once.
fn map_set_int(n) {
  let m = {}
  for i in 0..n { m[i * 31] = i }
  len(m)
}

fn make_int_map(n) {
  let m = {}
  for i in 0..n { m[i * 31] = i }
  m
}
let INT_MAP = make_int_map(2000)

fn map_get_int(n) {
  let m = INT_MAP
  let s = 0
  for i in 0..n { s = s + m[i * 31] }
  s
}

// The keys are made once, so the string benchmarks time hashing and comparing strings, not
// building them.
fn make_keys(n) {
  let keys = []
  for i in 0..n { keys.push("key-${i}") }
  keys
}
let KEYS = make_keys(2000)

fn map_set_str(n) {
  let keys = KEYS
  let m = {}
  for i in 0..n { m[keys[i]] = i }
  len(m)
}

fn make_str_map(n) {
  let m = {}
  for i in 0..n { m[KEYS[i]] = i }
  m
}
let STR_MAP = make_str_map(2000)

fn map_get_str(n) {
  let keys = KEYS
  let m = STR_MAP
  let s = 0
  for i in 0..n { s = s + m[keys[i]] }
  s
}

// alloc: short-lived objects, enough per call that the collector runs every few calls.
fn alloc_lists(n) {
  let s = 0
  for i in 0..n {
    let l = [i, i + 1]
    s = s + l[1]
  }
  s
}

class Pair {
  fn init(a, b) { self.a = a; self.b = b }
}

fn alloc_instances(n) {
  let s = 0
  for i in 0..n {
    let p = Pair(i, 1)
    s = s + p.a + p.b
  }
  s
}

// strings: new short strings each iteration, and one string grown by appending.
fn concat(n) {
  let total = 0
  for i in 0..n {
    let s = "item-" + str(i)
    total = total + len(s)
  }
  total
}

fn interpolate(n) {
  let total = 0
  for i in 0..n {
    let s = "item ${i} of ${n}"
    total = total + len(s)
  }
  total
}

fn append(n) {
  let s = ""
  for i in 0..n { s = s + "ab" }
  len(s)
}

// host: a call that does nothing, the floor under every figure above.
fn noop(n) { n }
"#;

/// Sizes of the maps and key list the script builds once; the map benchmarks' N must not exceed it.
const MAP_SIZE: i64 = 2000;

/// A VM with [`SOURCE`] loaded.
struct Fixture {
    vm: weft::Vm,
}

impl Fixture {
    fn new() -> Fixture {
        // A sink for stdout: nothing prints, but a stray `print` must not flood the report.
        let mut vm = weft::Vm::builder().stdout(std::io::sink()).build();
        if let Err(e) = vm.eval(SOURCE) {
            panic!("the benchmark script does not run: {e}");
        }
        Fixture { vm }
    }

    /// `name(n)`, which must return an int.
    fn call(&mut self, name: &str, n: i64) -> i64 {
        let value = self
            .vm
            .call(name, &[Value::Int(n)])
            .unwrap_or_else(|e| panic!("{name}({n}) failed: {e}"));
        self.vm
            .extract::<i64>(value)
            .unwrap_or_else(|| panic!("{name}({n}) returned {}", self.vm.display(value)))
    }
}

/// Benchmarks the script function `name` called with `n`, `elements` operations per call, after
/// checking once that it returns `expected`. Each benchmark gets a fresh VM, so the heap left by
/// one does not change the next.
fn bench(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    n: i64,
    elements: u64,
    expected: i64,
) {
    let mut fixture = Fixture::new();
    assert_eq!(fixture.call(name, n), expected, "{name}({n}) is wrong");
    group.throughput(Throughput::Elements(elements));
    group.bench_function(name, |b| b.iter(|| fixture.call(name, black_box(n))));
}

/// Sum of `0..n`.
fn triangle(n: i64) -> i64 {
    n * (n - 1) / 2
}

fn dispatch(c: &mut Criterion) {
    let mut group = c.benchmark_group("dispatch");
    let n = 20_000;
    let x = (0..n).fold(0, |x, i| (x * 31 + i) % 1_000_003);
    bench(&mut group, "int_loop", n, n as u64, x);
    bench(&mut group, "while_loop", n, n as u64, 2 * triangle(n));
    let n = 10_000;
    let s = (0..n).map(|i| [1, -1, 2][(i % 3) as usize]).sum();
    bench(&mut group, "branches", n, n as u64, s);
    group.finish();
}

fn calls(c: &mut Criterion) {
    let mut group = c.benchmark_group("calls");
    // fib(18) makes 8,361 calls (2 * fib(19) - 1).
    bench(&mut group, "fib", 18, 8_361, 2_584);
    let n = 10_000;
    bench(&mut group, "call_loop", n, n as u64, triangle(n));
    bench(&mut group, "closure_loop", n, n as u64, triangle(n) + 3 * n);
    group.finish();
}

fn fields(c: &mut Criterion) {
    let mut group = c.benchmark_group("fields");
    let n = 10_000;
    // One get and one set per iteration.
    bench(&mut group, "field_self", n, n as u64, triangle(n));
    // Three gets and two sets per iteration, counted as one element.
    bench(&mut group, "field_other", n, n as u64, triangle(n + 1));
    group.finish();
}

fn methods(c: &mut Criterion) {
    let mut group = c.benchmark_group("methods");
    let n = 5_000;
    bench(&mut group, "method_loop", n, n as u64, triangle(n));
    group.finish();
}

fn maps(c: &mut Criterion) {
    let mut group = c.benchmark_group("maps");
    let n = MAP_SIZE;
    bench(&mut group, "map_set_int", n, n as u64, n);
    bench(&mut group, "map_get_int", n, n as u64, triangle(n));
    bench(&mut group, "map_set_str", n, n as u64, n);
    bench(&mut group, "map_get_str", n, n as u64, triangle(n));
    group.finish();
}

fn alloc(c: &mut Criterion) {
    let mut group = c.benchmark_group("alloc");
    let n = 8_000;
    assert_collects("alloc_lists", n);
    bench(&mut group, "alloc_lists", n, n as u64, triangle(n + 1));
    // An instance costs more than a list: `Pair(i, 1)` also calls `init`, which sets two fields.
    let n = 3_000;
    assert_collects("alloc_instances", n);
    bench(&mut group, "alloc_instances", n, n as u64, triangle(n) + n);
    group.finish();
}

/// Checks that calling `name(n)` repeatedly keeps the heap bounded: the collector runs and the
/// allocation benchmarks include its cost. (The heap first collects at about 131k objects; about
/// 20k are live after 400k allocations. Without a collection all 400k would be.)
fn assert_collects(name: &str, n: i64) {
    let mut fixture = Fixture::new();
    // Enough calls to allocate well past the first threshold.
    let calls = 400_000 / n as usize + 1;
    for _ in 0..calls {
        fixture.call(name, n);
    }
    let live = fixture.vm.core().heap.live_objects();
    let allocated = calls * n as usize;
    assert!(
        live < allocated / 2,
        "{live} objects live after {allocated} allocations: the collector did not run"
    );
}

fn strings(c: &mut Criterion) {
    let mut group = c.benchmark_group("strings");
    let n = 2_000;
    let concat: usize = (0..n).map(|i| format!("item-{i}").len()).sum();
    bench(&mut group, "concat", n, n as u64, concat as i64);
    let interpolate: usize = (0..n).map(|i| format!("item {i} of {n}").len()).sum();
    bench(&mut group, "interpolate", n, n as u64, interpolate as i64);
    // Appending copies the string each time (quadratic in N).
    let n = 1_000;
    bench(&mut group, "append", n, n as u64, 2 * n);
    group.finish();
}

fn host(c: &mut Criterion) {
    let mut group = c.benchmark_group("host");
    bench(&mut group, "noop", 7, 1, 7);
    group.finish();
}

/// Short defaults, so the whole suite runs in about a minute on a 2-core machine; one call is
/// at most about 1 ms, so 30 samples fit in the 2 s. Command-line flags (`--measurement-time`,
/// `--sample-size`, `--quick`, ...) override these.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! {
    name = hot_paths;
    config = config();
    targets = dispatch, calls, fields, methods, maps, alloc, strings, host
}
criterion_main!(hot_paths);
