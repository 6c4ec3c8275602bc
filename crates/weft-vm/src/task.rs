//! Tasks, scopes and channels: the heap objects of the concurrency runtime (LANGUAGE.md §7).
//!
//! A [`Task`] is a fiber: its own registers, frames and `try` handlers, swapped into the VM while it
//! runs. A [`ScopeObj`] is a structured-concurrency scope: the tasks spawned in it, whether it is
//! cancelled, and the first unobserved failure of a child. A [`Channel`] is a FIFO with a capacity.
//! The logic that moves tasks between states lives in `scheduler.rs`, `scope.rs` and `channel.rs`.

use std::collections::VecDeque;
use std::rc::Rc;

use crate::value::{Handle, Value};
use crate::vm::{FnProto, Frame, Handler};

/// Scheduling priority; each has its own first-in first-out ready queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// Runs before everything else.
    Max = 0,
    /// Runs before normal tasks.
    High = 1,
    /// The default.
    Normal = 2,
    /// Runs when nothing else is ready (aging keeps it from starving).
    Low = 3,
}

impl Priority {
    /// Parses `"max" | "high" | "normal" | "low"`.
    pub fn parse(name: &str) -> Option<Priority> {
        Some(match name {
            "max" => Priority::Max,
            "high" => Priority::High,
            "normal" => Priority::Normal,
            "low" => Priority::Low,
            _ => return None,
        })
    }

    /// The name scripts use.
    pub fn name(self) -> &'static str {
        match self {
            Priority::Max => "max",
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }
}

/// Where a task is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskState {
    /// In a ready queue.
    Ready,
    /// Its registers are in the VM right now.
    Running,
    /// Waiting for something (see [`Wait`]).
    Blocked,
    /// Finished; `outcome` is set.
    Done,
}

/// What a blocked task waits for. Cancellable waits are checkpoints; closing a scope is not.
#[derive(Debug, Clone)]
pub enum Wait {
    /// Not waiting.
    None,
    /// `await t`.
    Await(Handle<Task>),
    /// A combinator waiting on several tasks (`__wait(ts, mode)`).
    Combinator(Rc<[Value]>, CombineMode),
    /// `sleep(ms)` or `yield_now()`'s timer.
    Sleep,
    /// `ch.send(v)` on a full channel; `v` is held here until a receiver takes it.
    Send(Handle<Channel>, Value),
    /// `ch.recv()`, `ch.recv_ok()` or `for v in ch` on an empty channel.
    Recv(Handle<Channel>, RecvMode),
    /// `select` with these cases (see `channel.rs`).
    Select(Rc<[SelectCase]>),
    /// Closing a scope: waiting for its children to finish (not a checkpoint).
    ScopeClose(Handle<ScopeObj>),
    /// A host operation (an async native, a host promise, I/O) with this id.
    Host(u64),
    /// `receive` with no matching message yet.
    Receive,
}

impl Wait {
    /// Whether cancellation wakes a task blocked here.
    pub fn cancellable(&self) -> bool {
        !matches!(self, Wait::ScopeClose(_) | Wait::None)
    }
}

/// One case of a `select` as the runtime sees it.
#[derive(Debug, Clone, Copy)]
pub enum SelectCase {
    /// `v = ch.recv()` or `v = ch.recv_ok()`.
    Recv(Handle<Channel>, RecvMode),
    /// `ch.send(v)`.
    Send(Handle<Channel>, Value),
    /// `v = await t`.
    Await(Handle<Task>),
    /// `after ms` (absolute deadline in nanoseconds of the VM clock).
    After(u64),
    /// `default`.
    Default,
}

/// What a receive gives, and what it does on a closed, drained channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvMode {
    /// `ch.recv()`: the value; raises `ChannelClosed`.
    Plain,
    /// `ch.recv_ok()`: `[v, true]`; `[nil, false]`.
    Ok,
    /// `for v in ch`: the value; `Undef` (which no script value can be) to end the loop. Nothing
    /// is allocated per value.
    Iter,
}

/// When a combinator's wait is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CombineMode {
    /// `all`: every task fulfilled, or one failed.
    All,
    /// `all_settled` and the cleanup of the others: every task finished.
    Settled,
    /// `race`: any task finished.
    Race,
    /// `any`: one task fulfilled, or all failed.
    Any,
}

/// What a woken task receives at the instruction it blocked on.
#[derive(Debug, Clone)]
pub enum Resume {
    /// The blocking call's result.
    Value(Value),
    /// An error value thrown at the blocking call.
    Throw(Value),
    /// A new error raised at the blocking call (its trace is taken there).
    Raise(&'static str, Rc<str>),
}

/// How a finished task ended.
#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    /// Returned a value.
    Value(Value),
    /// Failed with an error (the thrown value).
    Error(Value),
    /// Ended by cancellation: the `TaskCancelled` error every `await` of it raises (one object,
    /// so awaiting twice gives the same error).
    Cancelled(Value),
}

/// Where a task was spawned: the innermost frames of the spawner (the spawning function first,
/// each with the instruction after its call) and, recursively, the spawner's own spawn site.
#[derive(Debug)]
pub struct SpawnSite {
    /// Up to [`SPAWN_FRAMES`] frames of the spawner, innermost first.
    pub frames: Vec<(Rc<FnProto>, usize)>,
    /// The spawning task's own spawn site.
    pub parent: Option<Rc<SpawnSite>>,
}

/// How many frames of the spawner a spawn site keeps: enough to read where a task came from,
/// few enough that a million spawns stay cheap.
pub const SPAWN_FRAMES: usize = 4;

/// A task: a fiber with its own registers, frames and handlers.
#[derive(Debug)]
pub struct Task {
    /// Shown as `<task id>`; the main task is 1.
    pub id: u64,
    /// Registers (empty while running: they are in the VM).
    pub stack: Vec<Value>,
    /// Frames, innermost last (swapped into the VM while running).
    pub frames: Vec<Frame>,
    /// `try` handlers (swapped into the VM while running).
    pub handlers: Vec<Handler>,
    /// Arguments count of the pending initial call `stack[0](stack[1..=argc])`, before the first run.
    pub start_argc: Option<u32>,
    /// Life cycle state.
    pub state: TaskState,
    /// What it waits for while blocked.
    pub wait: Wait,
    /// Absolute register receiving the result of the blocking operation.
    pub wait_slot: u32,
    /// Delivered when the task runs next.
    pub resume: Option<Resume>,
    /// Bumped on every wake; wakers registered for an older wait compare it and give up.
    pub seq: u32,
    /// When its current wait began (a counter, see `Scheduler::waits_begun`).
    pub wait_began: u64,
    /// Set once the task is done.
    pub outcome: Option<Outcome>,
    /// Finish order (for "first failure" among several tasks).
    pub finished: u64,
    /// Its ready queue.
    pub priority: Priority,
    /// Scopes open in this task, outermost (its implicit task scope) first.
    pub scopes: Vec<Handle<ScopeObj>>,
    /// The scope it was spawned into.
    pub parent: Option<Handle<ScopeObj>>,
    /// Tasks blocked on this one, with the `seq` of their wait.
    pub waiters: Vec<(Handle<Task>, u32)>,
    /// Where it was spawned (async traces).
    pub spawned_at: Option<Rc<SpawnSite>>,
    /// Its failure reached an `await` or combinator (or was reported): it fails no scope.
    pub observed: bool,
    /// Run time since cancellation was requested, in nanoseconds (for the cancel grace); `None`
    /// while not cancelled, so only cancelled tasks pay for reading the clock.
    pub cancelled_run_ns: Option<u64>,
    /// Mailbox, links and monitors, made on first use (most tasks never get a message).
    pub process: Option<Box<Process>>,
}

/// The Erlang side of a task (LANGUAGE.md §7.7).
#[derive(Debug, Default)]
pub struct Process {
    /// Messages not yet received, oldest first.
    pub mailbox: VecDeque<Value>,
    /// Linked tasks (links go both ways).
    pub links: Vec<Handle<Task>>,
    /// Monitors of this task: reference and watching task.
    pub monitored_by: Vec<(i64, Handle<Task>)>,
    /// Exit signals arrive as `{exit: t, reason: r}` messages instead of cancelling.
    pub trap_exit: bool,
    /// The reason an exit signal gave; it overrides the reason the outcome would give.
    pub exit_reason: Option<Value>,
    /// The name it is registered under.
    pub name: Option<crate::text::Text>,
}

impl Task {
    /// A new task that will call `callee(args)` when it first runs.
    pub fn new(id: u64, callee: Value, args: &[Value]) -> Task {
        let mut stack = Vec::with_capacity(args.len() + 1);
        stack.push(callee);
        stack.extend_from_slice(args);
        Task {
            id,
            stack,
            // Most tasks run one function: room for exactly one frame (a growing Vec would
            // reserve four, 144 bytes more per live task).
            frames: Vec::with_capacity(1),
            handlers: Vec::new(),
            start_argc: Some(args.len() as u32),
            state: TaskState::Ready,
            wait: Wait::None,
            wait_slot: 0,
            resume: None,
            seq: 0,
            wait_began: 0,
            outcome: None,
            finished: 0,
            priority: Priority::Normal,
            scopes: Vec::new(),
            parent: None,
            waiters: Vec::new(),
            spawned_at: None,
            observed: false,
            cancelled_run_ns: None,
            process: None,
        }
    }

    /// Values this task holds, for the collector.
    pub fn trace_values(&self, out: &mut Vec<Value>) {
        out.extend_from_slice(&self.stack);
        for frame in &self.frames {
            if let Some(closure) = frame.closure {
                out.push(Value::Func(closure));
            }
        }
        match &self.wait {
            Wait::Await(t) => out.push(Value::Task(*t)),
            Wait::Combinator(items, _) => out.extend_from_slice(items),
            Wait::Send(ch, v) => {
                out.push(Value::Channel(*ch));
                out.push(*v);
            }
            Wait::Recv(ch, _) => out.push(Value::Channel(*ch)),
            Wait::Select(cases) => {
                for case in cases.iter() {
                    match *case {
                        SelectCase::Recv(ch, _) => out.push(Value::Channel(ch)),
                        SelectCase::Send(ch, v) => {
                            out.push(Value::Channel(ch));
                            out.push(v);
                        }
                        SelectCase::Await(t) => out.push(Value::Task(t)),
                        SelectCase::After(_) | SelectCase::Default => {}
                    }
                }
            }
            Wait::ScopeClose(s) => out.push(Value::Scope(*s)),
            Wait::None | Wait::Sleep | Wait::Receive | Wait::Host(_) => {}
        }
        match &self.resume {
            Some(Resume::Value(v)) | Some(Resume::Throw(v)) => out.push(*v),
            _ => {}
        }
        match self.outcome {
            Some(Outcome::Value(v)) | Some(Outcome::Error(v)) | Some(Outcome::Cancelled(v)) => {
                out.push(v)
            }
            None => {}
        }
        out.extend(self.scopes.iter().map(|&s| Value::Scope(s)));
        out.extend(self.parent.map(Value::Scope));
        out.extend(self.waiters.iter().map(|&(t, _)| Value::Task(t)));
        if let Some(p) = &self.process {
            out.extend(p.mailbox.iter().copied());
            out.extend(p.links.iter().map(|&t| Value::Task(t)));
            out.extend(p.monitored_by.iter().map(|&(_, t)| Value::Task(t)));
            out.extend(p.exit_reason);
        }
    }
}

/// What kind of scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeKind {
    /// The implicit scope of a task (closing it finishes the task).
    Task,
    /// `scope { }`.
    Block,
    /// `supervisor { }`: failures do not cancel siblings.
    Supervisor,
    /// `shield { }`: cancellation from outside does not reach in.
    Shield,
    /// The root scope: the main task and detached tasks.
    Root,
}

/// A structured-concurrency scope.
#[derive(Debug)]
pub struct ScopeObj {
    /// What kind.
    pub kind: ScopeKind,
    /// The task whose body runs in it (`None` for the root scope).
    pub owner: Option<Handle<Task>>,
    /// The enclosing scope (for a task scope: the scope the task was spawned into).
    pub parent: Option<Handle<ScopeObj>>,
    /// Children in spawn order. Finished ones are dropped lazily; skip them when iterating.
    pub children: Vec<Handle<Task>>,
    /// How many of `children` are unfinished.
    pub live_children: u32,
    /// Cancelled by `s.cancel()`, its deadline, a failure, or its task's cancellation.
    pub cancelled: bool,
    /// Its deadline (nanoseconds of the VM clock) cancelled it.
    pub expired: bool,
    /// It caught the `Cancelled` its own cancellation caused (`timeout` turns that into `Timeout`).
    pub absorbed: bool,
    /// Failures, kept out of line: most scopes never see one (keeps every task ~70 bytes lighter).
    pub failures: Option<Box<Failures>>,
    /// While closing: how the body ended (`Ok(value)` or `Err(error)`).
    pub body: Option<Result<Value, Value>>,
    /// Closed: no more spawns; deadlines no longer apply.
    pub closed: bool,
}

impl ScopeObj {
    /// A new open scope.
    pub fn new(
        kind: ScopeKind,
        owner: Option<Handle<Task>>,
        parent: Option<Handle<ScopeObj>>,
    ) -> ScopeObj {
        ScopeObj {
            kind,
            owner,
            parent,
            children: Vec::new(),
            live_children: 0,
            cancelled: false,
            expired: false,
            absorbed: false,
            failures: None,
            body: None,
            closed: false,
        }
    }

    /// Values this scope holds, for the collector.
    pub fn trace_values(&self, out: &mut Vec<Value>) {
        out.extend(self.owner.map(Value::Task));
        out.extend(self.parent.map(Value::Scope));
        out.extend(self.children.iter().map(|&t| Value::Task(t)));
        if let Some(f) = &self.failures {
            out.extend(f.first_error);
            out.extend_from_slice(&f.suppressed);
            out.extend(f.unobserved.iter().map(|&t| Value::Task(t)));
        }
        if let Some(Ok(v) | Err(v)) = self.body {
            out.push(v);
        }
    }
}

/// The failures a scope has seen.
#[derive(Debug, Default)]
pub struct Failures {
    /// The first unobserved failure of a child (or the body's own error).
    pub first_error: Option<Value>,
    /// Later unobserved failures (they become `first_error.suppressed`).
    pub suppressed: Vec<Value>,
    /// Supervisor: failed children nobody has awaited yet.
    pub unobserved: Vec<Handle<Task>>,
}

impl ScopeObj {
    /// The first failure, if any.
    pub fn first_error(&self) -> Option<Value> {
        self.failures.as_ref().and_then(|f| f.first_error)
    }

    /// The failures record, created on first use.
    pub fn failures_mut(&mut self) -> &mut Failures {
        self.failures.get_or_insert_with(Default::default)
    }
}

/// A channel: a FIFO buffer of `cap` values and the tasks waiting on it.
#[derive(Debug)]
pub struct Channel {
    /// Capacity; 0 is a rendezvous.
    pub cap: usize,
    /// Buffered values.
    pub buffer: VecDeque<Value>,
    /// Closed: sends raise `ChannelClosed`; receives drain, then raise.
    pub closed: bool,
    /// Tasks blocked sending (their value is in their `Wait`), with their wait `seq`, oldest first.
    pub senders: VecDeque<(Handle<Task>, u32)>,
    /// Tasks blocked receiving, with their wait `seq`, oldest first.
    pub receivers: VecDeque<(Handle<Task>, u32)>,
}

impl Channel {
    /// An open, empty channel.
    pub fn new(cap: usize) -> Channel {
        Channel {
            cap,
            buffer: VecDeque::new(),
            closed: false,
            senders: VecDeque::new(),
            receivers: VecDeque::new(),
        }
    }

    /// Values this channel holds, for the collector.
    pub fn trace_values(&self, out: &mut Vec<Value>) {
        out.extend(self.buffer.iter().copied());
        out.extend(self.senders.iter().map(|&(t, _)| Value::Task(t)));
        out.extend(self.receivers.iter().map(|&(t, _)| Value::Task(t)));
    }
}
