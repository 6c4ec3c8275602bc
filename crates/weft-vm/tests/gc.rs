//! The collector frees cycles, keeps everything reachable, and survives collection at every safe point.

use weft_vm::{Halt, Vm};

fn run(vm: &mut Vm, source: &str) {
    vm.set_output(Box::new(std::io::sink()));
    match vm.run_source("gc_test.weft", source) {
        Ok(Halt::Done(_)) => {}
        Ok(other) => panic!("script did not finish: {other:?}"),
        Err(diags) => panic!("compile errors: {diags:?}"),
    }
}

#[test]
fn cyclic_garbage_is_collected_while_the_loop_runs() {
    let mut vm = Vm::new();
    run(
        &mut vm,
        r#"
        class Node { fn init() { self.other = nil } }
        let i = 0
        while i < 300000 {
            let a = Node(); let b = Node()
            a.other = b; b.other = a
            let l = [a, b]; l.push(l)
            i += 1
        }
        "#,
    );
    // 300,000 iterations allocate 1.2M objects; only a bounded number may survive the last collection.
    let live = vm.heap.live_objects();
    assert!(live < 400_000, "{live} objects still live");
    vm.collect_garbage();
    let after = vm.heap.live_objects();
    assert!(
        after < 5_000,
        "{after} objects live after a full collection"
    );
}

#[test]
fn reachable_values_survive_stress_collection() {
    let mut vm = Vm::new();
    vm.heap.set_stress(true);
    let mut out = Vec::new();
    let source = r#"
        let keep = []
        fn make(n) { let m = {"n": n, "s": "v${n}"}; m["self"] = m; m }
        for i in 0..200 { keep.push(make(i)); let junk = [i, [i], {k: i}] }
        let total = 0
        for m in keep { total += m["n"]; assert(m["self"]["s"] == "v${m["n"]}") }
        fn make_getter() { let captured = [1, 2, 3]; || captured }
        let f = make_getter()
        print(total, f())
    "#;
    let buffer = std::rc::Rc::new(std::cell::RefCell::new(Vec::<u8>::new()));
    struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
    impl std::io::Write for Shared {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    vm.set_output(Box::new(Shared(buffer.clone())));
    let halt = vm.run_source("stress.weft", source).expect("compiles");
    assert!(matches!(halt, Halt::Done(_)), "{halt:?}");
    out.extend_from_slice(&buffer.borrow());
    assert_eq!(String::from_utf8(out).unwrap(), "19900 [1, 2, 3]\n");
}

#[test]
fn a_collection_that_finds_no_garbage_leaves_the_next_one_exact() {
    use weft_vm::{Heap, Value};
    let mut heap = Heap::new();
    heap.set_stress(false);
    let a = heap.alloc_str("a");
    let b = heap.alloc_str("a string too long to be kept in place");
    // Everything is live: the marks are cleared at once and nothing is swept.
    heap.collect([a, b]);
    assert_eq!(heap.finish_sweep(), 0);
    let c = heap.alloc_str("c");
    // Now `b` and `c` are garbage, which a stale mark on `b` would hide.
    heap.collect([a]);
    assert_eq!(heap.finish_sweep(), 2);
    let Value::Str(a) = a else { unreachable!() };
    assert_eq!(heap.str(a).as_str(), "a");
    let _ = c;
}
