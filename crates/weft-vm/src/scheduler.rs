//! The scheduler: ready queues, timers, the clock, and the loop that runs tasks in slices.
//!
//! [`Vm::run`] repeatedly fires due timers, takes the next ready task (one first-in first-out queue
//! per priority, with aging), swaps its registers into the VM and runs it for at most one reduction
//! budget. It returns when the fuel it was given is spent, when the program is over, or when no task
//! is ready: then [`Halt::Idle`] tells the caller when the next timer is due (under virtual time the
//! clock jumps there instead). The VM never sleeps or blocks itself.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

use crate::call::CallOutcome;
use crate::error::Exc;
use crate::task::{Outcome, Resume, ScopeObj, SelectCase, Task, TaskState, Wait};
use crate::value::{Handle, Value};
use crate::vm::{Halt, Vm};

/// Reductions a task may use before others get a turn. A reduction is a call, a loop
/// iteration or an out-of-line instruction (`interp.rs` charges them), each a handful of
/// instructions, so 500 is the "about 2,000 instructions" of LANGUAGE.md §7.8 for typical code
/// (2,000 to 5,000; a loop over a long straight body takes more).
pub const REDUCTIONS: u64 = 500;

/// Default cancel grace: run time a cancelled task may keep going without a checkpoint.
pub const DEFAULT_CANCEL_GRACE: Duration = Duration::from_millis(100);

/// A lower-priority queue passed over this many times in a row is served next (aging).
const AGING_LIMIT: u32 = 8;

/// Limits on what a program may use (LANGUAGE.md §9); `None` means unlimited. Exceeding one
/// raises `LimitExceeded`.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// Unfinished tasks at once: a spawn beyond it raises in the spawning task.
    pub max_tasks: Option<usize>,
    /// Heap size in bytes, estimated as 64 bytes per live object after a collection: the task
    /// running when it is exceeded gets the error at the end of its slice.
    pub max_memory: Option<usize>,
    /// Run time of the whole program (on the VM clock, so virtual time counts virtual ms): at the
    /// deadline the root scope fails with the error and every task is cancelled.
    pub deadline: Option<Duration>,
}

/// The VM's clock: real (monotonic, from VM creation) or virtual (starts at 0, jumps to timers).
#[derive(Debug)]
pub struct Clock {
    start: Instant,
    /// `Some(now)` under virtual time.
    virtual_now: Option<u64>,
}

impl Clock {
    /// Nanoseconds since the clock started.
    pub fn now_ns(&self) -> u64 {
        match self.virtual_now {
            Some(now) => now,
            None => self.start.elapsed().as_nanos() as u64,
        }
    }

    /// Whether this is virtual time.
    pub fn is_virtual(&self) -> bool {
        self.virtual_now.is_some()
    }
}

/// What a timer does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TimerTarget {
    /// Wakes a task blocked in `sleep` or in a `select` with `after`, if its wait is still `seq`.
    Wake(u32, u32),
    /// Cancels a scope whose deadline passed, if still open.
    Deadline(u32),
}

/// A pending timer, ordered by deadline and then by creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Timer {
    at: u64,
    order: u64,
    target: TimerTarget,
}

/// Scheduling state of one VM.
#[derive(Debug)]
pub struct Scheduler {
    ready: [VecDeque<Handle<Task>>; 4],
    skipped: [u32; 4],
    timers: BinaryHeap<Reverse<Timer>>,
    timer_order: u64,
    /// The clock `sleep`, `now` and deadlines use.
    pub clock: Clock,
    /// The task whose registers are in the VM.
    pub current: Option<Handle<Task>>,
    /// The root scope (main task and detached tasks).
    pub root: Option<Handle<ScopeObj>>,
    /// The main task.
    pub main: Option<Handle<Task>>,
    next_id: u64,
    finish_order: u64,
    /// The register of the running task that receives the result of the operation it blocked on.
    pub(crate) block_slot: usize,
    /// The running task called `yield_now()`: requeue it at the back after this slice.
    pub(crate) yielding: bool,
    /// Set when the program is over.
    pub(crate) result: Option<Halt>,
    /// Some scope has been cancelled since the program started.
    pub(crate) any_cancelled: bool,
    /// Counts waits as they begin, so tasks woken by one event wake in the order they began
    /// waiting (LANGUAGE.md §7.1).
    pub(crate) waits_begun: u64,
    /// The last monitor reference handed out.
    pub(crate) next_monitor: i64,
    /// Active monitors: reference to the monitored task.
    pub(crate) monitors: rustc_hash::FxHashMap<i64, Handle<Task>>,
    /// Pending host operations: id to the waiting task (see `host.rs`).
    pub(crate) host_ops: rustc_hash::FxHashMap<u64, Handle<Task>>,
    /// Host operations whose task stopped waiting (it was cancelled): the host may stop them.
    pub(crate) abandoned: Vec<crate::host::HostOp>,
    /// The last host operation id handed out.
    pub(crate) next_host_op: u64,
    /// Limits set by the host or the command line (LANGUAGE.md §9).
    pub limits: Limits,
    /// Unfinished tasks, for `Limits::max_tasks`.
    pub(crate) live_tasks: usize,
    /// A limit was exceeded at a safe point: the running task gets `LimitExceeded`.
    pub(crate) limit_hit: Option<String>,
    /// Registered names (`register`, `whereis`).
    pub(crate) registry: rustc_hash::FxHashMap<crate::text::Text, Handle<Task>>,
    /// A task whose slice was cut short because `run`'s fuel ran out, with the budget it has
    /// left: it runs first on the next call, so the caller's fuel never shows in scheduling.
    carry: Option<(Handle<Task>, u64)>,
    /// The last spawn site and the task it was made in (see `Vm::spawn_site`).
    /// Keyed by task id, which, unlike a handle, is never reused.
    pub(crate) site_cache: Option<(u64, std::rc::Rc<crate::task::SpawnSite>)>,
    /// Run time a cancelled task may keep going without a checkpoint.
    pub cancel_grace: Duration,
    /// Tasks waiting for the host (I/O, host promises); while positive, no task blocked is a deadlock.
    pub host_waits: usize,
    /// A host drives the VM step by step and may still wake blocked tasks (send them messages,
    /// cancel them): when nothing can run, `run` reports `Idle` instead of a deadlock.
    pub host_driven: bool,
}

impl Scheduler {
    /// A scheduler on real time.
    pub fn new() -> Scheduler {
        Scheduler {
            ready: Default::default(),
            skipped: [0; 4],
            timers: BinaryHeap::new(),
            timer_order: 0,
            clock: Clock {
                start: Instant::now(),
                virtual_now: None,
            },
            current: None,
            root: None,
            main: None,
            next_id: 1,
            finish_order: 0,
            block_slot: 0,
            yielding: false,
            result: None,
            any_cancelled: false,
            next_monitor: 0,
            waits_begun: 0,
            monitors: Default::default(),
            registry: Default::default(),
            limits: Limits::default(),
            live_tasks: 0,
            limit_hit: None,
            host_ops: Default::default(),
            next_host_op: 0,
            abandoned: Vec::new(),
            carry: None,
            site_cache: None,
            cancel_grace: DEFAULT_CANCEL_GRACE,
            host_waits: 0,
            host_driven: false,
        }
    }

    /// The next task id.
    pub(crate) fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The next finish-order number.
    pub(crate) fn next_finish(&mut self) -> u64 {
        self.finish_order += 1;
        self.finish_order
    }

    /// Puts a ready task at the back of its priority's queue.
    pub(crate) fn push_ready(&mut self, task: Handle<Task>, priority: usize) {
        self.ready[priority].push_back(task);
    }

    /// The next task to run: the highest non-empty priority, except that a queue passed over
    /// `AGING_LIMIT` times in a row is served first, so low priorities are never starved.
    fn pop_ready(&mut self) -> Option<Handle<Task>> {
        for p in 0..4 {
            if self.skipped[p] >= AGING_LIMIT && !self.ready[p].is_empty() {
                self.skipped[p] = 0;
                return self.ready[p].pop_front();
            }
        }
        let first = (0..4).find(|&p| !self.ready[p].is_empty())?;
        self.skipped[first] = 0;
        for p in first + 1..4 {
            if !self.ready[p].is_empty() {
                self.skipped[p] += 1;
            }
        }
        self.ready[first].pop_front()
    }

    fn add_timer(&mut self, at: u64, target: TimerTarget) {
        self.timer_order += 1;
        self.timers.push(Reverse(Timer {
            at,
            order: self.timer_order,
            target,
        }));
    }

    /// Deadline of the earliest timer.
    fn next_timer(&self) -> Option<u64> {
        self.timers.peek().map(|Reverse(t)| t.at)
    }

    /// Values the scheduler holds, for the collector.
    pub(crate) fn roots(&self, out: &mut Vec<Value>) {
        for queue in &self.ready {
            out.extend(queue.iter().map(|&t| Value::Task(t)));
        }
        out.extend(self.current.map(Value::Task));
        out.extend(self.root.map(Value::Scope));
        out.extend(self.main.map(Value::Task));
        out.extend(self.registry.values().map(|&t| Value::Task(t)));
        if let Some(Halt::Done(v) | Halt::Error(v)) = self.result {
            out.push(v);
        }
        // Timers keep what they refer to alive: a freed slot could otherwise be reused by a new
        // task or scope that the stale timer would then wake or cancel.
        for Reverse(timer) in &self.timers {
            out.push(match timer.target {
                TimerTarget::Wake(index, _) => Value::Task(Handle::new(index)),
                TimerTarget::Deadline(index) => Value::Scope(Handle::new(index)),
            });
        }
    }

    /// Puts the clock on virtual time, reading `now` nanoseconds.
    pub(crate) fn set_virtual(&mut self, now: u64) {
        self.clock.virtual_now = Some(now);
    }
}

impl Default for Scheduler {
    fn default() -> Self {
        Scheduler::new()
    }
}

/// How one slice of a task ended.
enum SliceEnd {
    /// The task's body returned or failed.
    Finished(Result<Value, Value>),
    /// Its budget ran out.
    Preempted,
    /// It blocked (its wait is recorded), or yielded.
    Blocked,
    /// `os.exit(code)`.
    Exit(i32),
    /// It killed itself (`exit(current_task(), "kill")`).
    Killed,
}

impl Vm {
    /// Switches the VM to virtual time (clock at 0, jumping to the next timer when idle).
    pub fn set_virtual_time(&mut self, on: bool) {
        self.sched.clock.virtual_now = if on { Some(0) } else { None };
    }

    /// Milliseconds on the VM clock.
    pub fn now_ms(&self) -> f64 {
        self.sched.clock.now_ns() as f64 / 1e6
    }

    /// `t.set_priority(p)`: a task already in a ready queue moves to the back of its new queue.
    pub(crate) fn set_priority(&mut self, task: Handle<Task>, priority: crate::task::Priority) {
        let t = self.heap.tasks.get_mut(task);
        let old = std::mem::replace(&mut t.priority, priority);
        if t.state == TaskState::Ready && old != priority {
            let queue = &mut self.sched.ready[old as usize];
            if let Some(i) = queue.iter().position(|&x| x == task) {
                queue.remove(i);
                self.sched.ready[priority as usize].push_back(task);
            }
        }
    }

    /// Registers a timer waking `task` (at its current wait) `ms` from now.
    pub(crate) fn wake_after(&mut self, task: Handle<Task>, at: u64) {
        let seq = self.heap.tasks.get(task).seq;
        self.sched
            .add_timer(at, TimerTarget::Wake(task.index(), seq));
    }

    /// Registers a deadline that cancels `scope` at `at` (nanoseconds on the VM clock).
    pub(crate) fn deadline_at(&mut self, scope: Handle<ScopeObj>, at: u64) {
        self.sched
            .add_timer(at, TimerTarget::Deadline(scope.index()));
    }

    /// Nanoseconds `ms` milliseconds from now (negative or NaN counts as now).
    pub(crate) fn deadline_from_ms(&self, ms: f64) -> u64 {
        let now = self.sched.clock.now_ns();
        if ms.is_nan() || ms <= 0.0 {
            return now;
        }
        now.saturating_add((ms * 1e6).min(u64::MAX as f64 / 2.0) as u64)
    }

    /// Runs tasks for at most `fuel` reductions in total (see `REDUCTIONS`).
    pub fn run(&mut self, mut fuel: u64) -> Halt {
        loop {
            if let Some(result) = &self.sched.result {
                return result.clone();
            }
            self.fire_timers();
            let (task, budget) = match self.sched.carry.take() {
                Some((task, left)) if self.heap.tasks.get(task).state == TaskState::Ready => {
                    (Some(task), left)
                }
                _ => (self.sched.pop_ready(), REDUCTIONS),
            };
            // A task killed while it was queued is skipped.
            if task.is_some_and(|t| self.heap.tasks.get(t).state == TaskState::Done) {
                continue;
            }
            let Some(task) = task else {
                match self.sched.next_timer() {
                    Some(at) if self.sched.clock.is_virtual() => {
                        self.sched.clock.virtual_now = Some(at);
                        continue;
                    }
                    Some(at) => {
                        let wait = at.saturating_sub(self.sched.clock.now_ns());
                        if wait == 0 {
                            continue;
                        }
                        return Halt::Idle {
                            next_timer: Some(Duration::from_nanos(wait)),
                        };
                    }
                    None if self.sched.host_waits > 0 || self.sched.host_driven => {
                        return Halt::Idle { next_timer: None }
                    }
                    None => {
                        let error = self.deadlock_error();
                        self.sched.result = Some(Halt::Error(error));
                        continue;
                    }
                }
            };
            let slice = fuel.min(budget);
            let mut left = slice;
            let cut_short = slice < budget;
            if let Some(halt) = self.run_task(task, &mut left, cut_short) {
                return halt;
            }
            fuel -= slice - left;
            if fuel == 0 {
                if cut_short && left == 0 {
                    self.sched.carry = Some((task, budget - slice));
                }
                return Halt::OutOfFuel;
            }
        }
    }

    /// Moves tasks whose timers are due to the ready queues and cancels expired scopes.
    fn fire_timers(&mut self) {
        if self.sched.timers.is_empty() {
            return;
        }
        let now = self.sched.clock.now_ns();
        while let Some(Reverse(timer)) = self.sched.timers.peek().copied() {
            if timer.at > now {
                break;
            }
            self.sched.timers.pop();
            match timer.target {
                TimerTarget::Wake(index, seq) => {
                    let task = Handle::new(index);
                    if !self.heap.tasks.is_live(task) {
                        continue;
                    }
                    let t = self.heap.tasks.get(task);
                    if t.seq != seq || t.state != TaskState::Blocked {
                        continue;
                    }
                    let value = match &t.wait {
                        Wait::Sleep => Value::Nil,
                        // `receive ... after`: the timed-out flag.
                        Wait::Receive => Value::Bool(true),
                        Wait::Select(cases) => {
                            let Some(i) =
                                cases.iter().position(|c| matches!(c, SelectCase::After(_)))
                            else {
                                continue;
                            };
                            self.heap.alloc_list(vec![Value::Int(i as i64), Value::Nil])
                        }
                        _ => continue,
                    };
                    self.wake(task, Resume::Value(value));
                }
                TimerTarget::Deadline(index) => {
                    let scope = Handle::new(index);
                    if !self.heap.scopes.is_live(scope) || self.heap.scopes.get(scope).closed {
                        continue;
                    }
                    if self.heap.scopes.get(scope).kind == crate::task::ScopeKind::Root {
                        // The program's deadline (`Limits::deadline`): the program fails with it.
                        let ms = self.sched.limits.deadline.map_or(0, |d| d.as_millis());
                        let error = self.heap.alloc_error(crate::object::ErrorObj {
                            kind: "LimitExceeded".into(),
                            message: format!("deadline of {ms} ms exceeded").into(),
                            trace: Vec::new(),
                            fields: Vec::new(),
                        });
                        let failures = self.heap.scopes.get_mut(scope).failures_mut();
                        if failures.first_error.is_none() {
                            failures.first_error = Some(error);
                        }
                    }
                    self.heap.scopes.get_mut(scope).expired = true;
                    self.cancel_scope(scope);
                }
            }
        }
    }

    /// Makes a blocked task ready; it receives `resume` at the operation it blocked on.
    pub(crate) fn wake(&mut self, task: Handle<Task>, resume: Resume) {
        let t = self.heap.tasks.get_mut(task);
        let wait = std::mem::replace(&mut t.wait, Wait::None);
        t.resume = Some(resume);
        t.seq = t.seq.wrapping_add(1);
        t.state = TaskState::Ready;
        let priority = t.priority as usize;
        self.sched.push_ready(task, priority);
        self.forget_wait(task, wait);
    }

    /// Removes a woken task from the wait lists of the things it was waiting on, so loops that
    /// wait with a timeout do not pile up stale entries.
    pub(crate) fn forget_wait(&mut self, task: Handle<Task>, wait: Wait) {
        match wait {
            Wait::Send(ch, _) | Wait::Recv(ch, _) => self.forget_channel(ch, task),
            Wait::Select(cases) => {
                for case in cases.iter() {
                    if let SelectCase::Recv(ch, _) | SelectCase::Send(ch, _) = *case {
                        self.forget_channel(ch, task);
                    }
                }
            }
            Wait::Await(target) => {
                if let Some(t) = self.heap.tasks.try_get_mut(target) {
                    t.waiters.retain(|&(w, _)| w != task);
                }
            }
            // Abandoned (cancelled): its result will be dropped when it comes.
            Wait::Host(id) if self.sched.host_ops.remove(&id).is_some() => {
                self.sched.host_waits -= 1;
                self.sched.abandoned.push(crate::host::HostOp(id));
            }
            _ => {}
        }
    }

    fn forget_channel(&mut self, ch: Handle<crate::task::Channel>, task: Handle<Task>) {
        if let Some(c) = self.heap.channels.try_get_mut(ch) {
            c.senders.retain(|&(t, _)| t != task);
            c.receivers.retain(|&(t, _)| t != task);
        }
    }

    /// Marks the running task blocked on `wait`; the caller returns `Exc::Block`.
    pub(crate) fn block_on(&mut self, wait: Wait) -> Exc {
        let task = self.current_task();
        self.sched.waits_begun += 1;
        let begun = self.sched.waits_begun;
        let t = self.heap.tasks.get_mut(task);
        t.wait = wait;
        t.state = TaskState::Blocked;
        t.wait_began = begun;
        Exc::Block
    }

    /// The running task.
    pub(crate) fn current_task(&self) -> Handle<Task> {
        self.sched.current.expect("a running task")
    }

    /// Runs one slice of `task`; returns a halt only for `os.exit`.
    /// `cut_short`: the fuel ends before the task's budget does; if it runs out, the task is not
    /// requeued (it continues first on the next `run`, see `carry`).
    fn run_task(&mut self, task: Handle<Task>, fuel: &mut u64, cut_short: bool) -> Option<Halt> {
        self.switch_in(task);
        let mut pending: Option<Exc> = None;
        let mut finished: Option<Result<Value, Value>> = None;
        let t = self.heap.tasks.get_mut(task);
        // Only a cancelled task's run time matters (the cancel grace), so only it reads the clock.
        let started = t.cancelled_run_ns.map(|_| Instant::now());
        let start_argc = t.start_argc.take();
        let resume = t.resume.take();
        let slot = t.wait_slot as usize;
        if let Some(argc) = start_argc {
            match self.start_call(argc as usize) {
                Ok(CallOutcome::Pushed) => {}
                Ok(CallOutcome::Done) => finished = Some(Ok(self.stack[0])),
                // A task whose callee is a blocking native (`spawn sleep(10)`): its result
                // will arrive in `R[0]`, the callee's slot.
                Err(Exc::Block) => {
                    self.sched.block_slot = 0;
                    pending = Some(Exc::Block);
                }
                Err(exc) => pending = Some(exc),
            }
        }
        match resume {
            // A task without frames blocked in its first, native call: the delivered value is
            // its result.
            Some(Resume::Value(v)) if self.frames.is_empty() => finished = Some(Ok(v)),
            Some(Resume::Value(v)) => self.stack[slot] = v,
            Some(Resume::Throw(v)) => pending = Some(Exc::Throw(v)),
            Some(Resume::Raise(kind, message)) => {
                pending = Some(crate::error::raise(kind, &*message))
            }
            None => {}
        }
        let end = match finished {
            Some(result) => SliceEnd::Finished(result),
            None => self.run_frames(fuel, pending),
        };
        self.switch_out(task);
        if let Some(started) = started {
            let t = self.heap.tasks.get_mut(task);
            if let Some(ran) = &mut t.cancelled_run_ns {
                *ran += started.elapsed().as_nanos() as u64;
            }
        }
        let end = match (end, self.sched.limit_hit.take()) {
            // A limit hit during the slice is raised where the task stands.
            (SliceEnd::Preempted | SliceEnd::Blocked, Some(message)) => {
                self.sched.yielding = false;
                let t = self.heap.tasks.get_mut(task);
                if t.state == TaskState::Blocked {
                    let wait = std::mem::replace(&mut t.wait, Wait::None);
                    self.forget_wait(task, wait);
                }
                let t = self.heap.tasks.get_mut(task);
                t.seq = t.seq.wrapping_add(1);
                t.resume = Some(Resume::Raise("LimitExceeded", message.into()));
                t.state = TaskState::Ready;
                let p = t.priority as usize;
                self.sched.push_ready(task, p);
                return None;
            }
            (end, _) => end,
        };
        match end {
            SliceEnd::Finished(result) => self.finish_body(task, result),
            SliceEnd::Preempted if cut_short => {
                self.heap.tasks.get_mut(task).state = TaskState::Ready;
            }
            SliceEnd::Preempted => {
                self.check_grace(task);
                let t = self.heap.tasks.get_mut(task);
                t.state = TaskState::Ready;
                let p = t.priority as usize;
                self.sched.push_ready(task, p);
            }
            SliceEnd::Blocked => {
                let slot = self.sched.block_slot;
                let t = self.heap.tasks.get_mut(task);
                t.wait_slot = slot as u32;
                if std::mem::take(&mut self.sched.yielding) {
                    t.state = TaskState::Ready;
                    t.resume = Some(Resume::Value(Value::Nil));
                    let p = t.priority as usize;
                    self.sched.push_ready(task, p);
                }
            }
            SliceEnd::Exit(code) => return Some(Halt::Exit(code)),
            SliceEnd::Killed => {
                let t = self.heap.tasks.get_mut(task);
                t.frames.clear();
                t.handlers.clear();
                self.terminate(task);
            }
        }
        None
    }

    /// A cancelled task that ran past the cancel grace without a checkpoint gets `Cancelled` at
    /// this preemption point.
    fn check_grace(&mut self, task: Handle<Task>) {
        let Some(ran) = self.heap.tasks.get(task).cancelled_run_ns else {
            return;
        };
        if !self.effectively_cancelled(task) {
            self.heap.tasks.get_mut(task).cancelled_run_ns = None;
            return;
        }
        if ran >= self.sched.cancel_grace.as_nanos() as u64 {
            let t = self.heap.tasks.get_mut(task);
            t.resume = Some(Resume::Raise("Cancelled", "task was cancelled".into()));
            t.cancelled_run_ns = Some(0);
        }
    }

    /// Runs the current task's frames until they finish, block, or the fuel runs out.
    fn run_frames(&mut self, fuel: &mut u64, mut pending: Option<Exc>) -> SliceEnd {
        loop {
            if let Some(exc) = pending.take() {
                match exc {
                    Exc::Exit(code) => return SliceEnd::Exit(code),
                    Exc::Kill => return SliceEnd::Killed,
                    Exc::Block => return SliceEnd::Blocked,
                    exc => {
                        if let Err(value) = self.unwind(exc) {
                            return SliceEnd::Finished(Err(value));
                        }
                    }
                }
            }
            match self.run_slice(fuel) {
                Ok(Some(value)) => return SliceEnd::Finished(Ok(value)),
                Ok(None) => return SliceEnd::Preempted,
                Err(exc) => pending = Some(exc),
            }
        }
    }

    fn switch_in(&mut self, task: Handle<Task>) {
        let t = self.heap.tasks.get_mut(task);
        t.state = TaskState::Running;
        std::mem::swap(&mut self.stack, &mut t.stack);
        std::mem::swap(&mut self.frames, &mut t.frames);
        std::mem::swap(&mut self.handlers, &mut t.handlers);
        self.sched.current = Some(task);
    }

    fn switch_out(&mut self, task: Handle<Task>) {
        let t = self.heap.tasks.get_mut(task);
        std::mem::swap(&mut self.stack, &mut t.stack);
        std::mem::swap(&mut self.frames, &mut t.frames);
        std::mem::swap(&mut self.handlers, &mut t.handlers);
        self.sched.current = None;
    }

    /// Every unfinished task, by id.
    fn live_tasks(&self) -> Vec<Handle<Task>> {
        let mut tasks: Vec<Handle<Task>> = Vec::new();
        let mut stack: Vec<Handle<ScopeObj>> = self.sched.root.into_iter().collect();
        while let Some(scope) = stack.pop() {
            for &child in self.heap.scopes.get(scope).children.iter().rev() {
                if self.heap.tasks.get(child).state != TaskState::Done {
                    tasks.push(child);
                    stack.extend(self.heap.tasks.get(child).scopes.iter().rev());
                }
            }
        }
        tasks.sort_by_key(|&t| self.heap.tasks.get(t).id);
        tasks
    }

    /// Every unfinished task and where it is, one per line (`--dump-tasks-on-signal`).
    pub fn dump_tasks(&self) -> String {
        let tasks = self.live_tasks();
        let mut out = format!(
            "--- {} task{} at {:.3} ms ---\n",
            tasks.len(),
            if tasks.len() == 1 { "" } else { "s" },
            self.now_ms()
        );
        for task in tasks {
            out.push_str(&self.describe_task(task));
            out.push('\n');
        }
        out
    }

    /// The error reported when every task is blocked and nothing can wake any of them.
    fn deadlock_error(&mut self) -> Value {
        /// Tasks listed one by one; a thousand-task deadlock ends with a count instead.
        const LISTED: usize = 20;
        let mut message = String::from("every task is blocked and nothing can wake them");
        let tasks = self.live_tasks();
        for &task in tasks.iter().take(LISTED) {
            message.push_str("\n  ");
            message.push_str(&self.describe_task(task));
        }
        if tasks.len() > LISTED {
            message.push_str(&format!("\n  ... and {} more tasks", tasks.len() - LISTED));
        }
        self.heap.alloc_error(crate::object::ErrorObj {
            kind: "DeadlockError".into(),
            message: message.into(),
            trace: Vec::new(),
            fields: Vec::new(),
        })
    }

    /// One line about a task: id, spawn site, and what it waits on where.
    pub fn describe_task(&self, task: Handle<Task>) -> String {
        let t = self.heap.tasks.get(task);
        let mut line = format!("task {}", t.id);
        match t.spawned_at.as_ref().and_then(|site| site.frames.first()) {
            Some((proto, pc)) => {
                let proto = &proto.proto;
                line.push_str(&format!(
                    " (spawned at {} {})",
                    proto.name,
                    proto.location(pc.saturating_sub(1))
                ));
            }
            None if self.sched.main == Some(task) => line.push_str(" (main)"),
            None => line.push_str(" (started by the host)"),
        }
        let what = match &t.wait {
            Wait::None => match t.state {
                TaskState::Ready => "ready".to_string(),
                TaskState::Running => "running".to_string(),
                TaskState::Done => "done".to_string(),
                TaskState::Blocked => "blocked".to_string(),
            },
            Wait::Await(other) => format!("awaiting task {}", self.heap.tasks.get(*other).id),
            Wait::Combinator(..) => "waiting for tasks in a combinator".to_string(),
            Wait::Sleep => "sleeping".to_string(),
            Wait::Send(..) => "sending on a channel".to_string(),
            Wait::Recv(..) => "receiving from a channel".to_string(),
            Wait::Select(..) => "in select".to_string(),
            Wait::ScopeClose(_) => "waiting for its child tasks to finish".to_string(),
            Wait::Receive => "receiving a message".to_string(),
            Wait::Host(_) => "waiting for the host".to_string(),
        };
        line.push_str(": ");
        line.push_str(&what);
        if let Some(frame) = t.frames.last() {
            let proto_fn = frame.function();
            let proto = &proto_fn.proto;
            line.push_str(&format!(
                " at {} {}",
                proto.name,
                proto.location(proto_fn.pc_of(frame.ip).saturating_sub(1))
            ));
        }
        line
    }

    /// How a finished task's result looks to `await`: its value, its error, or `TaskCancelled`.
    pub(crate) fn outcome_resume(&self, task: Handle<Task>) -> Resume {
        let t = self.heap.tasks.get(task);
        match t.outcome {
            Some(Outcome::Value(v)) => Resume::Value(v),
            Some(Outcome::Error(e)) => Resume::Throw(e),
            Some(Outcome::Cancelled(e)) => Resume::Throw(e),
            None => Resume::Value(Value::Nil),
        }
    }
}
