//! The collector frees cycles, keeps everything reachable, and survives collection at every safe point.

use weft_vm::{Halt, Heap, Value, Vm};

/// A heap that collects only when asked, even when the suite runs with `WEFT_GC_STRESS`.
fn heap_without_stress() -> Heap {
    let mut heap = Heap::new();
    heap.set_stress(false);
    heap
}

/// A list `[i]` for each `i` of `ints`.
fn int_lists(heap: &mut Heap, ints: std::ops::Range<i64>) -> Vec<Value> {
    ints.map(|i| heap.alloc_list(vec![Value::Int(i)])).collect()
}

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
    let mut heap = heap_without_stress();
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

#[test]
fn a_marking_counts_every_live_object() {
    let mut heap = heap_without_stress();
    let lists = int_lists(&mut heap, 0..1000);
    assert_eq!(heap.collect(lists.iter().copied()), 0);
    assert_eq!(heap.live_after_collection(), 1000);
    assert_eq!(heap.collect(lists[..10].iter().copied()), 0);
    assert_eq!(heap.live_after_collection(), 10);
    assert_eq!(heap.finish_sweep(), 990);
}

#[test]
fn the_lazy_sweep_frees_exactly_the_garbage_across_bitmap_words() {
    let mut heap = heap_without_stress();
    let first = int_lists(&mut heap, 0..300);
    // Every third list stays live; the rest is swept lazily by the allocations that follow.
    let kept: Vec<Value> = first.iter().copied().step_by(3).collect();
    heap.collect(kept.iter().copied());
    assert_eq!(heap.live_after_collection(), 100);
    // These reuse swept slots and, once the free ones run out, grow the slab past the cursor.
    let second = int_lists(&mut heap, 1000..1400);
    heap.finish_sweep();
    // Exactly the first marking's 200 garbage lists were freed (by the allocations, which
    // reused their slots), and none of the new ones.
    assert_eq!(heap.live_objects(), 500);
    for (value, expected) in kept
        .iter()
        .zip((0..300).step_by(3))
        .chain(second.iter().zip(1000..1400))
    {
        let Value::List(h) = *value else {
            unreachable!()
        };
        assert!(matches!(heap.lists.get(h)[0], Value::Int(i) if i == expected));
    }
    // Nothing allocated since is garbage yet: a marking from all of it finds all of it.
    let all: Vec<Value> = kept.iter().chain(&second).copied().collect();
    heap.collect(all.iter().copied());
    assert_eq!(heap.live_after_collection(), 500);
    assert_eq!(heap.finish_sweep(), 0);
    heap.collect([]);
    assert_eq!(heap.finish_sweep(), 500);
    assert_eq!(heap.live_objects(), 0);
}
