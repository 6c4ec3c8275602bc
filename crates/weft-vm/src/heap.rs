//! The heap: one typed slab per object kind, and a stop-the-world mark-sweep collector.
//!
//! Objects are addressed by `Handle<T>` (a `u32` slot index), so the heap is entirely safe Rust:
//! a freed slot is put on its slab's free list and reused. Collection only happens at safe points
//! chosen by the interpreter (calls and loop back-edges), when every live value is reachable from
//! the roots the VM hands to [`Heap::collect`]; allocation itself never collects, so native code
//! may hold handles in Rust locals freely. Marking uses an explicit gray stack, so arbitrarily deep
//! structures never recurse on the Rust stack. Cycles are collected like anything else.

use crate::method_cache::MethodCache;
use crate::object::{
    BoundMethod, Cell, Class, Closure, ErrorObj, Instance, List, Map, RangeObj, Str,
};
use crate::task::{Channel, ScopeObj, Task};
use crate::text::Text;
use crate::value::{copy_words, Handle, Value};
use rustc_hash::FxHashMap;

/// Storage for one kind of object.
///
/// Sweeping is lazy: after a collection marks what is live, each allocation sweeps a few slots
/// ahead of a cursor, and the next collection finishes what is left. A pause is then the marking
/// of the live objects, not a walk over every slot of the heap. Measured: an HTTP hello server's
/// p99 under wrk went from 14.6 ms to 1.4 ms; binary_trees (depth 12, callgrind) runs 1.506 billion
/// instructions against 1.531 billion with the eager sweep.
///
/// Which slots hold an object and which the marking reached are bitmaps, one bit a slot, and the
/// sweep goes a word (64 slots) at a time: the garbage of a word is `occupied & !marked`, so
/// the live objects and the free slots cost nothing to pass, and the slots themselves are only
/// touched to drop what dies. (A `bool` a slot, read with the slot's `Option` tag, had cost
/// about 3 instructions a slot: callgrind, see `docs/performance.md`.)
#[derive(Debug)]
pub struct Slab<T> {
    slots: Vec<Option<T>>,
    /// Bit `i % 64` of word `i / 64` is set while slot `i` holds an object.
    occupied: Vec<u64>,
    /// Bit `i % 64` of word `i / 64` is set when the last marking reached slot `i`.
    marks: Vec<u64>,
    free: Vec<u32>,
    /// Slots before it are swept since the last marking; the rest still carry its marks. A
    /// multiple of 64 while the sweep goes on, `slots.len()` once it is done.
    cursor: usize,
    /// Objects the last marking found live.
    marked: usize,
    /// Insertions since the last marking.
    inserts: usize,
    /// Slots each insertion sweeps (see [`Slab::start_sweep`]).
    pace: usize,
    /// Slots the insertions have paid to sweep and the sweep, which goes by words, has not
    /// swept yet.
    credit: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            slots: Vec::new(),
            occupied: Vec::new(),
            marks: Vec::new(),
            free: Vec::new(),
            cursor: 0,
            marked: 0,
            inserts: 0,
            pace: SWEEP_PER_ALLOCATION,
            credit: 0,
        }
    }
}

/// Slots a bitmap word covers.
const WORD: usize = 64;

/// The bitmap word of slot `index` and its bit in that word.
#[inline(always)]
fn bit_of(index: usize) -> (usize, u64) {
    (index / WORD, 1 << (index % WORD))
}

/// At most this many slots an allocation sweeps ahead of the cursor (the pace of a slab that was
/// hardly allocated from since the last marking).
const SWEEP_PER_ALLOCATION: usize = 32;

/// At least this many slots an allocation sweeps (see [`Slab::start_sweep`]).
const MIN_SWEEP_PER_ALLOCATION: usize = 16;

/// At most this many slots an allocation sweeps looking for a free one before it grows the slab.
const SWEEP_SEARCH_LIMIT: usize = 4096;

impl<T> Slab<T> {
    fn insert(&mut self, value: T) -> Handle<T> {
        Handle::new(self.put(value) as u32)
    }

    /// Puts `value` in a free slot, or in a new one at the end; returns its index.
    fn put(&mut self, value: T) -> usize {
        let index = match self.free_slot() {
            Some(index) => {
                self.slots[index] = Some(value);
                index
            }
            None => {
                self.slots.push(Some(value));
                self.grown()
            }
        };
        self.taken(index);
        index
    }

    /// A slot for an object its caller builds in place (`Heap::new_list_of`); it holds `None`.
    /// (Not for `put`: a `None` pushed and then replaced was built on the stack and copied with
    /// a 16-byte load that stalled on the 1-byte store of its tag; perf, strings, where the
    /// slab of strings grows: half of `insert`'s samples.)
    fn take_slot(&mut self) -> usize {
        let index = match self.free_slot() {
            Some(index) => index,
            None => {
                self.slots.push(None);
                self.grown()
            }
        };
        self.taken(index);
        index
    }

    /// A free slot for a new object, if there is one: the insertions pay for the sweep first.
    #[inline(always)]
    fn free_slot(&mut self) -> Option<usize> {
        self.inserts += 1;
        self.credit += self.pace;
        if self.credit >= WORD {
            self.sweep_words(self.credit / WORD);
            self.credit %= WORD;
        }
        // Reuse garbage before growing the slab: a slab that grows while its garbage waits to be
        // swept costs memory and cache.
        let mut budget = SWEEP_SEARCH_LIMIT / WORD;
        while self.free.is_empty() && self.cursor < self.slots.len() && budget > 0 {
            self.sweep_words(1);
            budget -= 1;
        }
        self.free.pop().map(|index| index as usize)
    }

    /// After a slot was pushed: its index, with the bitmaps grown to cover it.
    #[inline(always)]
    fn grown(&mut self) -> usize {
        let index = self.slots.len() - 1;
        if self.cursor == index {
            // The sweep is done; it stays done.
            self.cursor += 1;
        }
        if index.is_multiple_of(WORD) {
            self.occupied.push(0);
            self.marks.push(0);
        }
        index
    }

    /// Counts slot `index` taken.
    #[inline(always)]
    fn taken(&mut self, index: usize) {
        let (word, bit) = bit_of(index);
        self.occupied[word] |= bit;
        // Ahead of the cursor the sweep still reads the last marks: a new object there counts
        // as marked, so the sweep keeps it (and clears the mark). Behind it the mark is clear.
        if index >= self.cursor {
            self.marks[word] |= bit;
        }
    }

    /// Sweeps up to `words` bitmap words at the cursor: frees the unmarked objects there and
    /// clears the marks. Returns how many objects it freed.
    fn sweep_words(&mut self, words: usize) -> usize {
        if self.cursor >= self.slots.len() {
            // Done: the word at a cursor that is not a multiple of 64 was swept already.
            return 0;
        }
        let first = self.cursor / WORD;
        let last = self.occupied.len().min(first.saturating_add(words));
        let mut freed = 0;
        for word in first..last {
            let mut garbage = self.occupied[word] & !self.marks[word];
            self.occupied[word] &= self.marks[word];
            self.marks[word] = 0;
            freed += garbage.count_ones() as usize;
            while garbage != 0 {
                let index = word * WORD + garbage.trailing_zeros() as usize;
                garbage &= garbage - 1;
                self.slots[index] = None;
                self.free.push(index as u32);
            }
        }
        if last > first {
            self.cursor = (last * WORD).min(self.slots.len());
        }
        freed
    }

    /// The object behind a handle. (Always inlined, as `get_mut`: the interpreter's inline
    /// paths use it on every field and call, and the compiler's inlining budget for the
    /// dispatch loop otherwise gives out at places that change from build to build.)
    #[inline(always)]
    pub fn get(&self, handle: Handle<T>) -> &T {
        match &self.slots[handle.index() as usize] {
            Some(value) => value,
            None => panic!("use of a collected object (a missing GC root)"),
        }
    }

    /// The object behind a handle, mutably.
    #[inline(always)]
    pub fn get_mut(&mut self, handle: Handle<T>) -> &mut T {
        match &mut self.slots[handle.index() as usize] {
            Some(value) => value,
            None => panic!("use of a collected object (a missing GC root)"),
        }
    }

    /// Whether a handle still points at a live object (timers may outlive what they refer to).
    pub fn is_live(&self, handle: Handle<T>) -> bool {
        self.slots
            .get(handle.index() as usize)
            .is_some_and(Option::is_some)
    }

    /// The object behind a handle, if it is still live.
    pub fn try_get(&self, handle: Handle<T>) -> Option<&T> {
        self.slots.get(handle.index() as usize)?.as_ref()
    }

    /// The object behind a handle, mutably, if it is still live.
    pub fn try_get_mut(&mut self, handle: Handle<T>) -> Option<&mut T> {
        self.slots.get_mut(handle.index() as usize)?.as_mut()
    }

    /// Marks a handle; returns true when it was not marked before (its children need tracing).
    fn mark(&mut self, handle: Handle<T>) -> bool {
        let index = handle.index() as usize;
        let (word, bit) = bit_of(index);
        let word = &mut self.marks[word];
        let new = *word & bit == 0;
        *word |= bit;
        // Not `self.marked += usize::from(new)`: rustc 1.95 at opt-level 2 and up dropped that
        // addition here, a `bool` added to a field and then returned (rust-lang/rust#158206),
        // so every marking counted nothing live and `--max-memory` never fired. The test
        // `a_marking_counts_every_live_object` (tests/gc.rs) catches it.
        if new {
            self.marked += 1;
        }
        new
    }

    /// Finishes the sweep of the last marking; returns how many objects it freed.
    fn finish_sweep(&mut self) -> usize {
        self.sweep_words(usize::MAX)
    }

    /// After a marking: the sweep starts again from the first slot.
    ///
    /// Its pace spreads the sweep over the insertions until the next marking: each insertion
    /// sweeps enough slots that the whole slab is swept after half as many insertions as the last
    /// interval had. At a fixed 32 slots per insertion, the insertions right after a collection
    /// freed the whole interval's garbage (a burst of `free`s): an HTTP hello server's VM slices
    /// took 0.5-1.5 ms for 20 requests there instead of 0.08 ms. Measured with this pace: slices
    /// over 0.5 ms 406 -> 39 in 6 s of wrk, the server's p99 3.2-4.6 ms -> 1.8-3.0 ms (idle
    /// machine, A/B in turns).
    ///
    /// The pace never drops below `MIN_SWEEP_PER_ALLOCATION`: a slower sweep made allocation-heavy
    /// programs slower (binary_trees 16: 3.4-4.2 s at 32, 4.5-5.1 s at 16, 6.0-6.4 s at 1), while
    /// the http p99 stayed at 1.26-1.29 ms at 16 (0.98-1.19 at 1, 1.29-2.35 at 32; two runs each).
    fn start_sweep(&mut self) {
        // Every object the slab holds was marked: there is nothing to free, so the marks are
        // cleared at once instead of slot by slot by the insertions to come (a slab of
        // strings that all stay live, as in the `strings` workload, or of tasks and classes).
        // Measured (callgrind): strings 100k 103.7M -> 102.3M instructions, 1M 1,045M -> 1,026M.
        if self.marked == self.live() {
            self.marks.fill(0);
            self.cursor = self.slots.len();
            self.inserts = 0;
            return;
        }
        self.cursor = 0;
        self.credit = 0;
        let interval = self.inserts.max(1);
        self.pace = (2 * self.slots.len())
            .div_ceil(interval)
            .clamp(MIN_SWEEP_PER_ALLOCATION, SWEEP_PER_ALLOCATION);
        self.inserts = 0;
    }

    fn live(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

/// Every object of one VM.
#[derive(Debug)]
pub struct Heap {
    /// Strings.
    pub strings: Slab<Str>,
    /// Lists.
    pub lists: Slab<List>,
    /// Maps.
    pub maps: Slab<Map>,
    /// Ranges.
    pub ranges: Slab<RangeObj>,
    /// Closures.
    pub closures: Slab<Closure>,
    /// Cells of captured variables.
    pub cells: Slab<Cell>,
    /// Bound methods.
    pub bounds: Slab<BoundMethod>,
    /// Classes.
    pub classes: Slab<Class>,
    /// Instances.
    pub instances: Slab<Instance>,
    /// Error values.
    pub errors: Slab<ErrorObj>,
    /// Tasks.
    pub tasks: Slab<Task>,
    /// Scopes.
    pub scopes: Slab<ScopeObj>,
    /// Channels.
    pub channels: Slab<Channel>,
    /// Interned strings (names and constants); these are permanent roots.
    interned: FxHashMap<Text, Handle<Str>>,
    /// Script methods found lately by class and name; cleared when marking ends, before a
    /// class can be freed.
    pub(crate) method_cache: MethodCache,
    /// Allocations since the last collection (objects, weighted by a rough size).
    allocated: usize,
    /// Collect when `allocated` reaches this; 0 in stress mode.
    threshold: usize,
    /// Collect at every safe point (tests and fuzzing): `set_stress`.
    stress: bool,
    /// Objects the last collection found live.
    live_after_collection: usize,
}

/// The sweep operations of a slab, whatever it holds.
trait SweepSlab {
    fn finish_sweep(&mut self) -> usize;
    fn start_sweep(&mut self);
    fn marked_mut(&mut self) -> &mut usize;
}

impl<T> SweepSlab for Slab<T> {
    fn finish_sweep(&mut self) -> usize {
        Slab::finish_sweep(self)
    }
    fn start_sweep(&mut self) {
        Slab::start_sweep(self)
    }
    fn marked_mut(&mut self) -> &mut usize {
        &mut self.marked
    }
}

impl Default for Heap {
    fn default() -> Self {
        Heap::new()
    }
}

/// The first collection happens after this much allocation (in rough object units).
const INITIAL_THRESHOLD: usize = 1 << 17;

impl Heap {
    /// An empty heap.
    pub fn new() -> Heap {
        let mut heap = Heap {
            strings: Slab::default(),
            lists: Slab::default(),
            maps: Slab::default(),
            ranges: Slab::default(),
            closures: Slab::default(),
            cells: Slab::default(),
            bounds: Slab::default(),
            classes: Slab::default(),
            instances: Slab::default(),
            errors: Slab::default(),
            tasks: Slab::default(),
            scopes: Slab::default(),
            channels: Slab::default(),
            interned: FxHashMap::default(),
            method_cache: MethodCache::new(),
            allocated: 0,
            threshold: INITIAL_THRESHOLD,
            stress: false,
            live_after_collection: 0,
        };
        heap.set_stress(std::env::var_os("WEFT_GC_STRESS").is_some());
        heap
    }

    /// Whether a safe point should collect now. Stress mode is a threshold of 0, so this is
    /// one compare on every call and loop back edge (the separate flag cost a load, a compare
    /// and an `or` more: callgrind, loop 3M, 4 instructions an iteration).
    #[inline]
    pub fn wants_collection(&self) -> bool {
        self.allocated >= self.threshold
    }

    /// Turns stress mode (a collection at every safe point) on or off.
    pub fn set_stress(&mut self, stress: bool) {
        self.stress = stress;
        self.threshold = if stress { 0 } else { INITIAL_THRESHOLD };
    }

    /// Records `units` of allocation (used by growth of lists, maps and strings too).
    #[inline]
    pub fn account(&mut self, units: usize) {
        self.allocated += units;
    }

    /// Allocates a string.
    pub fn alloc_str(&mut self, text: impl Into<Text>) -> Value {
        let text = text.into();
        self.account(1 + text.len() / 16);
        Value::Str(self.strings.insert(text))
    }

    /// The permanent, unique string for `text` (names, constants).
    pub fn intern(&mut self, text: &str) -> Handle<Str> {
        if let Some(&handle) = self.interned.get(text) {
            return handle;
        }
        let text = Text::new(text);
        let handle = self.strings.insert(text.clone());
        self.interned.insert(text, handle);
        handle
    }

    /// Looks up an interned string without creating it.
    pub fn interned(&self, text: &str) -> Option<Handle<Str>> {
        self.interned.get(text).copied()
    }

    /// Allocates a list (from a `List`, or a `Vec` whose buffer a list of more than two items
    /// keeps).
    #[inline]
    pub fn alloc_list(&mut self, items: impl Into<List>) -> Value {
        let items = items.into();
        self.account(1 + items.len());
        Value::List(self.lists.insert(items))
    }

    /// Allocates a list of copies of `items` (a list literal's registers), built in its slot,
    /// and returns its handle. The handle comes back in a register, so the interpreter writes
    /// the `Value` with two 8-byte stores (a `Value` returned through memory was copied with a
    /// 16-byte load that stalled: perf, binary_trees, 8% of the samples). Up to two items go straight into the slot's inline buffer, each as two 8-byte words
    /// (`copy_words`): `List::from_slice` had called `memcpy`, whose 16-byte loads of registers
    /// just written by two 8-byte stores stalled, and the list was then moved into its slot.
    /// Measured (callgrind, binary_trees 12): see `docs/performance.md`. Not inlined, so the
    /// dispatch loop stays small.
    #[inline(never)]
    pub fn new_list_of(&mut self, items: &[Value]) -> Handle<List> {
        self.account(1 + items.len());
        let index = self.lists.take_slot();
        let list = self.lists.slots[index].insert(List::new());
        if items.len() <= list.inline_size() {
            let to = list.as_mut_ptr();
            for (i, item) in items.iter().enumerate() {
                // SAFETY: `to` is the empty list's inline buffer, with room for
                // `inline_size()` values, and `item` is a valid `Value`.
                unsafe { copy_words(item, to.add(i)) };
            }
            // SAFETY: the first `items.len()` values were written just above.
            unsafe { list.set_len(items.len()) };
        } else {
            list.extend_from_slice(items);
        }
        Handle::new(index as u32)
    }

    /// Allocates a map.
    pub fn alloc_map(&mut self, map: Map) -> Value {
        self.account(1 + map.len() * 2);
        Value::Map(self.maps.insert(map))
    }

    /// Allocates a range.
    pub fn alloc_range(&mut self, range: RangeObj) -> Value {
        self.account(1);
        Value::Range(self.ranges.insert(range))
    }

    /// Allocates a closure.
    pub fn alloc_closure(&mut self, closure: Closure) -> Value {
        self.account(1 + closure.upvals.len());
        Value::Func(self.closures.insert(closure))
    }

    /// Allocates a cell.
    pub fn alloc_cell(&mut self, value: Value) -> Handle<Cell> {
        self.account(1);
        self.cells.insert(Cell { value })
    }

    /// Allocates a bound method.
    pub fn alloc_bound(&mut self, receiver: Value, method: Value) -> Value {
        self.account(1);
        Value::Bound(self.bounds.insert(BoundMethod { receiver, method }))
    }

    /// Allocates a class.
    pub fn alloc_class(&mut self, class: Class) -> Value {
        self.account(1 + class.methods.len());
        Value::Class(self.classes.insert(class))
    }

    /// Allocates an instance.
    pub fn alloc_instance(&mut self, instance: Instance) -> Value {
        self.account(2);
        Value::Instance(self.instances.insert(instance))
    }

    /// Allocates an error value.
    pub fn alloc_error(&mut self, error: ErrorObj) -> Value {
        self.account(4);
        Value::Error(self.errors.insert(error))
    }

    /// Allocates a task.
    pub fn alloc_task(&mut self, task: Task) -> Handle<Task> {
        // One unit like any object: the collector's threshold is in objects (live * 2), so a
        // heavier weight made a million spawns trigger 19 collections instead of 9.
        self.account(1);
        self.tasks.insert(task)
    }

    /// Allocates a scope.
    pub fn alloc_scope(&mut self, scope: ScopeObj) -> Handle<ScopeObj> {
        self.account(1);
        self.scopes.insert(scope)
    }

    /// Allocates a channel.
    pub fn alloc_channel(&mut self, channel: Channel) -> Value {
        self.account(2 + channel.cap.min(64));
        Value::Channel(self.channels.insert(channel))
    }

    /// The text of a string value.
    #[inline]
    pub fn str(&self, handle: Handle<Str>) -> &Text {
        self.strings.get(handle)
    }

    /// Collects garbage: marks everything reachable from `roots` and the interned strings, frees the rest.
    /// Returns the number of objects freed.
    pub fn collect(&mut self, roots: impl IntoIterator<Item = Value>) -> usize {
        // What the last collection left unswept is swept now, so every mark starts cleared.
        let freed = self.for_each_slab(|s| s.finish_sweep());
        self.for_each_slab(|s| {
            *s.marked_mut() = 0;
            0
        });
        let mut gray: Vec<Value> = roots.into_iter().collect();
        let interned: Vec<Handle<Str>> = self.interned.values().copied().collect();
        for handle in interned {
            self.strings.mark(handle);
        }
        while let Some(value) = gray.pop() {
            self.mark_value(value, &mut gray);
        }
        // The sweep may free a class and its slot go to another: forget the methods found.
        self.method_cache.clear();
        let live = self.for_each_slab(|s| {
            s.start_sweep();
            *s.marked_mut()
        });
        self.live_after_collection = live;
        self.allocated = 0;
        self.threshold = if self.stress {
            0
        } else {
            INITIAL_THRESHOLD.max(live * 2)
        };
        freed
    }

    /// Sweeps everything the last collection left (for an exact count of live objects); returns
    /// how many objects it freed.
    pub fn finish_sweep(&mut self) -> usize {
        self.for_each_slab(|s| s.finish_sweep())
    }

    /// Objects the last collection found live.
    pub fn live_after_collection(&self) -> usize {
        self.live_after_collection
    }

    /// Runs `f` on every slab (through a type-erased view) and sums what it returns.
    fn for_each_slab(&mut self, mut f: impl FnMut(&mut dyn SweepSlab) -> usize) -> usize {
        f(&mut self.strings)
            + f(&mut self.lists)
            + f(&mut self.maps)
            + f(&mut self.ranges)
            + f(&mut self.closures)
            + f(&mut self.cells)
            + f(&mut self.bounds)
            + f(&mut self.classes)
            + f(&mut self.instances)
            + f(&mut self.errors)
            + f(&mut self.tasks)
            + f(&mut self.scopes)
            + f(&mut self.channels)
    }

    /// Number of live objects (after the last sweep, plus new allocations).
    pub fn live_objects(&self) -> usize {
        self.strings.live()
            + self.lists.live()
            + self.maps.live()
            + self.ranges.live()
            + self.closures.live()
            + self.cells.live()
            + self.bounds.live()
            + self.classes.live()
            + self.instances.live()
            + self.errors.live()
            + self.tasks.live()
            + self.scopes.live()
            + self.channels.live()
    }

    /// Marks one value and pushes its children on the gray stack.
    fn mark_value(&mut self, value: Value, gray: &mut Vec<Value>) {
        match value {
            Value::Nil
            | Value::Bool(_)
            | Value::Int(_)
            | Value::Float(_)
            | Value::Native(_)
            | Value::Module(_)
            | Value::Undef => {}
            Value::Str(h) => {
                self.strings.mark(h);
            }
            Value::Range(h) => {
                self.ranges.mark(h);
            }
            Value::List(h) => {
                if self.lists.mark(h) {
                    let Heap {
                        lists,
                        strings,
                        ranges,
                        ..
                    } = self;
                    trace_items(lists.get(h).iter(), strings, ranges, gray);
                }
            }
            Value::Map(h) => {
                if self.maps.mark(h) {
                    let Heap {
                        maps,
                        strings,
                        ranges,
                        ..
                    } = self;
                    trace_items(maps.get(h).values(), strings, ranges, gray);
                }
            }
            Value::Func(h) => {
                if self.closures.mark(h) {
                    gray.extend(self.closures.get(h).upvals.iter().map(|&c| Value::Cell(c)));
                }
            }
            Value::Cell(h) => {
                if self.cells.mark(h) {
                    gray.push(self.cells.get(h).value);
                }
            }
            Value::Bound(h) => {
                if self.bounds.mark(h) {
                    let bound = self.bounds.get(h);
                    gray.push(bound.receiver);
                    gray.push(bound.method);
                }
            }
            Value::Class(h) => {
                if self.classes.mark(h) {
                    let class = self.classes.get(h);
                    gray.extend(class.methods.keys().map(|&k| Value::Str(k)));
                    gray.extend(class.methods.values().copied());
                }
            }
            Value::Instance(h) => {
                if self.instances.mark(h) {
                    let instance = self.instances.get(h);
                    gray.push(Value::Class(instance.class));
                    for &(name, field) in &instance.fields {
                        gray.push(Value::Str(name));
                        gray.push(field);
                    }
                }
            }
            Value::Task(h) => {
                if self.tasks.mark(h) {
                    self.tasks.get(h).trace_values(gray);
                }
            }
            Value::Scope(h) => {
                if self.scopes.mark(h) {
                    self.scopes.get(h).trace_values(gray);
                }
            }
            Value::Channel(h) => {
                if self.channels.mark(h) {
                    self.channels.get(h).trace_values(gray);
                }
            }
            Value::Error(h) => {
                if self.errors.mark(h) {
                    for &(name, field) in &self.errors.get(h).fields {
                        gray.push(Value::Str(name));
                        gray.push(field);
                    }
                }
            }
        }
    }
}

/// Traces the items of a list or the values of a map. Only what refers to the heap is marked,
/// and what has no children of its own (strings, ranges) is marked at once instead of going on
/// the gray stack: a list of a million ints, or of a million strings, otherwise doubled its
/// memory for the length of a marking (sort benchmark: peak RSS 33 MB -> 20 MB; strings 1M,
/// marking its strings at once: 1,091M -> 1,045M instructions, peak RSS 83 MB -> 73 MB).
fn trace_items<'a>(
    items: impl Iterator<Item = &'a Value>,
    strings: &mut Slab<Str>,
    ranges: &mut Slab<RangeObj>,
    gray: &mut Vec<Value>,
) {
    for &item in items {
        match item {
            Value::Str(h) => {
                strings.mark(h);
            }
            Value::Range(h) => {
                ranges.mark(h);
            }
            other if refers_to_heap(&other) => gray.push(other),
            _ => {}
        }
    }
}

/// Whether a value is a handle into the heap (the others have nothing to mark).
fn refers_to_heap(value: &Value) -> bool {
    !matches!(
        value,
        Value::Nil
            | Value::Bool(_)
            | Value::Int(_)
            | Value::Float(_)
            | Value::Native(_)
            | Value::Module(_)
            | Value::Undef
    )
}
