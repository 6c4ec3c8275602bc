//! Structured concurrency (LANGUAGE.md §7.2, §7.3): spawning into scopes, closing scopes, where a
//! task's failure goes, and cancellation.
//!
//! Every task runs in its implicit task scope; `scope { }`, `supervisor { }` and `shield { }` push
//! further scopes on the task's scope stack. A scope's parent is the enclosing scope in the same
//! task, or, for a task scope, the scope the task was spawned into, so the scopes form one tree from
//! the root scope. Cancellation is level-triggered: a task is cancelled while any scope on its path
//! to the root (stopping at a shield) is cancelled, and every checkpoint asks again. Cancelling a
//! scope also wakes the blocked tasks beneath it, body first, then children in spawn order.

use std::rc::Rc;

use crate::error::{raise, Exc, VmResult};
use crate::task::{
    Outcome, Resume, ScopeKind, ScopeObj, SelectCase, SpawnSite, Task, TaskState, Wait,
};
use crate::value::{Handle, Value};
use crate::vm::Vm;

/// Where a spawned task goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpawnKind {
    /// `spawn`: a child of the innermost scope of the spawning task.
    Child,
    /// `spawn_detached`: a child of the root scope.
    Detached,
    /// `spawn_link`: detached, and linked to the spawning task.
    Link,
}

impl SpawnKind {
    /// Decodes the `kind` operand of `Op::Spawn`.
    pub fn from_code(code: u8) -> SpawnKind {
        match code {
            1 => SpawnKind::Detached,
            2 => SpawnKind::Link,
            _ => SpawnKind::Child,
        }
    }
}

impl Vm {
    /// Spawns a task that calls `callee(args)`; it joins the back of its ready queue.
    /// Raises `LimitExceeded` when one more task would pass `Limits::max_tasks`.
    pub(crate) fn check_task_limit(&self) -> VmResult<()> {
        match self.sched.limits.max_tasks {
            Some(max) if self.sched.live_tasks >= max => Err(raise(
                "LimitExceeded",
                format!("task limit of {max} exceeded"),
            )),
            _ => Ok(()),
        }
    }

    pub(crate) fn spawn_task(&mut self, callee: Value, args: &[Value], kind: SpawnKind) -> Value {
        self.sched.live_tasks += 1;
        let parent = match kind {
            SpawnKind::Child => self.current_scope(),
            SpawnKind::Detached | SpawnKind::Link => self.root_scope(),
        };
        let id = self.sched.next_id();
        let mut task = Task::new(id, callee, args);
        task.parent = Some(parent);
        task.spawned_at = Some(self.spawn_site());
        // The task's own scope is made when it first needs one (see `own_scope`).
        let handle = self.heap.alloc_task(task);
        let p = self.heap.scopes.get_mut(parent);
        p.children.push(handle);
        p.live_children += 1;
        self.sched
            .push_ready(handle, crate::task::Priority::Normal as usize);
        if kind == SpawnKind::Link && self.sched.current.is_some() {
            self.link(handle);
        }
        Value::Task(handle)
    }

    /// Where the running code is spawning from. A loop that spawns many tasks from one place
    /// shares one site: the last site is cached and reused while the frames and the spawning
    /// task are the same (measured: 1M spawns, 120 bytes and two allocations fewer per task).
    fn spawn_site(&mut self) -> Rc<SpawnSite> {
        let frames = self.frames.iter().rev().take(crate::task::SPAWN_FRAMES);
        let spawner = self.sched.current.map_or(0, |t| self.heap.tasks.get(t).id);
        if let Some((task, site)) = &self.sched.site_cache {
            if *task == spawner
                && site.frames.len() == frames.len()
                && site
                    .frames
                    .iter()
                    .zip(frames.clone())
                    .all(|((proto, pc), f)| proto.id == f.function().id && *pc == self.frame_pc(f))
            {
                return site.clone();
            }
        }
        let parent = self
            .sched
            .current
            .and_then(|t| self.heap.tasks.get(t).spawned_at.clone());
        let site = Rc::new(SpawnSite {
            frames: frames
                .map(|f| (self.proto(f.function().id).clone(), self.frame_pc(f)))
                .collect(),
            parent,
        });
        self.sched.site_cache = Some((spawner, site.clone()));
        site
    }

    /// Creates the root scope and the main task: it calls `func()` when given, else it runs the
    /// frames already set up in the VM.
    pub(crate) fn start_main(&mut self, func: Option<Value>) {
        let root = self
            .heap
            .alloc_scope(ScopeObj::new(ScopeKind::Root, None, None));
        self.sched.root = Some(root);
        let main = self.spawn_root_task(func);
        self.sched.main = Some(main);
    }

    /// A task in the root scope that calls `func()` when given, else runs the frames set up in
    /// the VM (which it takes over).
    pub(crate) fn spawn_root_task(&mut self, func: Option<Value>) -> Handle<Task> {
        self.sched.live_tasks += 1;
        let root = self.root_scope();
        let id = self.sched.next_id();
        let mut task = Task::new(id, func.unwrap_or(Value::Nil), &[]);
        if func.is_none() {
            task.start_argc = None;
            std::mem::swap(&mut task.stack, &mut self.stack);
            std::mem::swap(&mut task.frames, &mut self.frames);
            std::mem::swap(&mut task.handlers, &mut self.handlers);
        }
        task.parent = Some(root);
        let handle = self.heap.alloc_task(task);
        let r = self.heap.scopes.get_mut(root);
        r.children.push(handle);
        r.live_children += 1;
        self.sched
            .push_ready(handle, crate::task::Priority::Normal as usize);
        handle
    }

    pub(crate) fn root_scope(&mut self) -> Handle<ScopeObj> {
        match self.sched.root {
            Some(root) => root,
            None => {
                let root = self
                    .heap
                    .alloc_scope(ScopeObj::new(ScopeKind::Root, None, None));
                self.sched.root = Some(root);
                root
            }
        }
    }

    /// The innermost scope of the running task (the root scope outside any task).
    pub(crate) fn current_scope(&mut self) -> Handle<ScopeObj> {
        match self.sched.current {
            Some(t) => {
                self.own_scope(t);
                *self.heap.tasks.get(t).scopes.last().expect("own scope")
            }
            None => self.root_scope(),
        }
    }

    /// The task's own (implicit) scope, `scopes[0]`. It is made on first need: when the task
    /// spawns, opens a scope or is cancelled. Most tasks never spawn, so leaf tasks do without
    /// one (measured: 100k sleeping tasks, 96 bytes and one allocation fewer each).
    pub(crate) fn own_scope(&mut self, task: Handle<Task>) -> Handle<ScopeObj> {
        if let Some(&own) = self.heap.tasks.get(task).scopes.first() {
            return own;
        }
        let parent = self.heap.tasks.get(task).parent;
        let own = self
            .heap
            .alloc_scope(ScopeObj::new(ScopeKind::Task, Some(task), parent));
        self.heap.tasks.get_mut(task).scopes.push(own);
        own
    }

    /// `scope { }` and friends: opens a scope inside the running task.
    pub(crate) fn scope_enter(&mut self, kind: ScopeKind) -> Value {
        let task = self.current_task();
        let parent = self.current_scope();
        let scope = self
            .heap
            .alloc_scope(ScopeObj::new(kind, Some(task), Some(parent)));
        self.heap.tasks.get_mut(task).scopes.push(scope);
        Value::Scope(scope)
    }

    /// The end of a `scope { }` block whose body ended with `body`: waits for the children (the
    /// running task blocks until they finish) and gives the scope's result.
    pub(crate) fn scope_exit(
        &mut self,
        scope: Handle<ScopeObj>,
        body: Result<Value, Value>,
    ) -> VmResult<Value> {
        match self.close_scope(scope, body) {
            Some(Ok(value)) => Ok(value),
            Some(Err(error)) => Err(Exc::Throw(error)),
            None => Err(self.block_on(Wait::ScopeClose(scope))),
        }
    }

    /// Starts closing `scope`, whose body ended with `body`. A failed body cancels the children,
    /// latest spawned first. Returns the scope's result, or `None` while children still run (the
    /// owner must then wait; the last child to finish completes the scope).
    fn close_scope(
        &mut self,
        scope: Handle<ScopeObj>,
        body: Result<Value, Value>,
    ) -> Option<Result<Value, Value>> {
        if let Err(error) = body {
            if !self.is_cancelled_error(error) {
                match self.heap.scopes.get(scope).first_error() {
                    None => {
                        self.heap.scopes.get_mut(scope).failures_mut().first_error = Some(error)
                    }
                    Some(first) if !self.same(first, error) => self
                        .heap
                        .scopes
                        .get_mut(scope)
                        .failures_mut()
                        .suppressed
                        .push(error),
                    Some(_) => {}
                }
            }
            let children: Vec<Handle<Task>> = self.heap.scopes.get(scope).children.clone();
            for child in children.into_iter().rev() {
                self.cancel_task(child);
            }
        }
        let s = self.heap.scopes.get_mut(scope);
        s.body = Some(body);
        if s.live_children > 0 {
            return None;
        }
        Some(self.scope_result(scope))
    }

    fn same(&self, a: Value, b: Value) -> bool {
        match (a, b) {
            (Value::Error(x), Value::Error(y)) => x == y,
            _ => false,
        }
    }

    /// The result of a scope whose body and children have all finished; pops it off its task.
    fn scope_result(&mut self, scope: Handle<ScopeObj>) -> Result<Value, Value> {
        let parent_cancelled = self.scope_path_cancelled(self.heap.scopes.get(scope).parent);
        let s = self.heap.scopes.get_mut(scope);
        s.closed = true;
        let body = s.body.take().unwrap_or(Ok(Value::Nil));
        let failures = s.failures.take().map(|f| *f).unwrap_or_default();
        let (first, suppressed, unobserved) = (
            failures.first_error,
            failures.suppressed,
            failures.unobserved,
        );
        let (kind, own_cancel, owner) = (s.kind, s.cancelled, s.owner);
        if kind != ScopeKind::Task {
            if let Some(owner) = owner {
                self.heap
                    .tasks
                    .get_mut(owner)
                    .scopes
                    .retain(|&x| x != scope);
            }
        }
        for task in unobserved {
            self.warn_unobserved(task);
        }
        match first {
            Some(error) => {
                self.attach_suppressed(error, suppressed);
                Err(error)
            }
            None => match body {
                Ok(value) => Ok(value),
                Err(error)
                    if kind != ScopeKind::Task
                        && own_cancel
                        && !parent_cancelled
                        && self.is_cancelled_error(error) =>
                {
                    // The scope caught the `Cancelled` its own cancellation caused.
                    self.heap.scopes.get_mut(scope).absorbed = true;
                    Ok(Value::Nil)
                }
                Err(error) => Err(error),
            },
        }
    }

    /// Prints the supervisor warning for a failed child that nobody awaited.
    fn warn_unobserved(&mut self, task: Handle<Task>) {
        let t = self.heap.tasks.get_mut(task);
        if t.observed {
            return;
        }
        t.observed = true;
        if let Some(Outcome::Error(error)) = t.outcome {
            let text = format!(
                "warning: unobserved task failure: {}\n",
                self.display(error)
            );
            self.write_err(&text);
        }
    }

    /// Stores later failures as `error.suppressed`.
    fn attach_suppressed(&mut self, error: Value, suppressed: Vec<Value>) {
        self.add_suppressed(error, suppressed);
    }

    /// Appends failures to `error.suppressed` (created when missing).
    pub(crate) fn add_suppressed(&mut self, error: Value, more: Vec<Value>) {
        if more.is_empty() {
            return;
        }
        let Value::Error(h) = error else {
            return;
        };
        let name = self.heap.intern("suppressed");
        let existing = self
            .heap
            .errors
            .get(h)
            .fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, v)| v);
        match existing {
            Some(Value::List(list)) => self.heap.lists.get_mut(list).extend(more),
            _ => {
                let list = self.heap.alloc_list(more);
                self.heap.errors.get_mut(h).fields.push((name, list));
            }
        }
    }

    /// Whether `value` is a `Cancelled` error.
    pub(crate) fn is_cancelled_error(&self, value: Value) -> bool {
        match value {
            Value::Error(h) => &*self.heap.errors.get(h).kind == "Cancelled",
            _ => false,
        }
    }

    /// The body of a task returned or failed: close its task scope, then finish it.
    pub(crate) fn finish_body(&mut self, task: Handle<Task>, result: Result<Value, Value>) {
        let Some(&scope) = self.heap.tasks.get(task).scopes.first() else {
            // Without its own scope the task never spawned: nothing to wait for.
            self.finalize_task(task, result);
            return;
        };
        match self.close_scope(scope, result) {
            Some(result) => self.finalize_task(task, result),
            None => {
                let t = self.heap.tasks.get_mut(task);
                t.state = TaskState::Blocked;
                t.wait = Wait::ScopeClose(scope);
            }
        }
    }

    /// A task is done: record its outcome, deliver it to waiters, report an unobserved failure to
    /// its scope, and leave the scope (which may complete that scope in turn).
    pub(crate) fn finalize_task(&mut self, task: Handle<Task>, result: Result<Value, Value>) {
        let mut work = vec![(task, result)];
        while let Some((task, result)) = work.pop() {
            let outcome = match result {
                Ok(v) => Outcome::Value(v),
                Err(e) if self.is_cancelled_error(e) => {
                    let id = self.heap.tasks.get(task).id;
                    Outcome::Cancelled(
                        self.new_error("TaskCancelled", &format!("task {id} was cancelled")),
                    )
                }
                Err(e) => Outcome::Error(e),
            };
            let finished = self.sched.next_finish();
            self.sched.live_tasks -= 1;
            let t = self.heap.tasks.get_mut(task);
            t.state = TaskState::Done;
            t.outcome = Some(outcome);
            t.finished = finished;
            t.wait = Wait::None;
            // A finished task keeps only its outcome: registers, frames and its own scope go.
            t.stack = Vec::new();
            t.frames = Vec::new();
            t.handlers = Vec::new();
            t.scopes = Vec::new();
            let waiters = std::mem::take(&mut t.waiters);
            let parent = t.parent;
            // A task the host started is observed from the start: the host reads its result.
            let host_reads = t.observed;
            let observed =
                self.deliver_to_waiters(task, waiters) | self.process_exit(task) | host_reads;
            if observed {
                self.heap.tasks.get_mut(task).observed = true;
            }
            let Some(parent) = parent else {
                continue;
            };
            if let (Outcome::Error(error), false) = (outcome, observed) {
                self.child_failed(parent, task, error);
            }
            let p = self.heap.scopes.get_mut(parent);
            p.live_children -= 1;
            // Finished children are dropped lazily, so a scope with a million short-lived
            // children stays linear.
            if p.children.len() > 32 && (p.live_children as usize) < p.children.len() / 2 {
                let mut children = std::mem::take(&mut p.children);
                children.retain(|&c| self.heap.tasks.get(c).state != TaskState::Done);
                self.heap.scopes.get_mut(parent).children = children;
            }
            let p = self.heap.scopes.get(parent);
            if p.live_children > 0 {
                continue;
            }
            match (p.kind, p.owner) {
                (ScopeKind::Root, _) => self.program_finished(),
                (_, Some(owner)) if p.body.is_some() => {
                    let result = self.scope_result(parent);
                    if p_kind_is_task(self, parent) {
                        work.push((owner, result));
                    } else {
                        let resume = match result {
                            Ok(v) => Resume::Value(v),
                            Err(e) => Resume::Throw(e),
                        };
                        self.wake(owner, resume);
                    }
                }
                _ => {}
            }
        }
    }

    /// Hands a finished task's outcome to the tasks waiting on it; returns whether any did.
    fn deliver_to_waiters(
        &mut self,
        task: Handle<Task>,
        waiters: Vec<(Handle<Task>, u32)>,
    ) -> bool {
        let mut observed = false;
        for (waiter, seq) in waiters {
            let w = self.heap.tasks.get(waiter);
            if w.seq != seq || w.state != TaskState::Blocked {
                continue;
            }
            match w.wait.clone() {
                Wait::Await(target) if target == task => {
                    observed = true;
                    let resume = self.outcome_resume(task);
                    self.wake(waiter, resume);
                }
                Wait::Combinator(items, mode) => {
                    observed = true;
                    if let Some(value) = self.combinator_decision(&items, mode) {
                        self.wake(waiter, Resume::Value(value));
                    }
                }
                Wait::Select(cases) => {
                    let index = cases
                        .iter()
                        .position(|c| matches!(c, SelectCase::Await(t) if *t == task));
                    if let Some(i) = index {
                        observed = true;
                        let resume = match self.outcome_resume(task) {
                            Resume::Value(v) => {
                                Resume::Value(self.heap.alloc_list(vec![Value::Int(i as i64), v]))
                            }
                            other => other,
                        };
                        self.wake(waiter, resume);
                    }
                }
                _ => {}
            }
        }
        observed
    }

    /// A child failed and nobody was waiting for it.
    fn child_failed(&mut self, scope: Handle<ScopeObj>, task: Handle<Task>, error: Value) {
        let s = self.heap.scopes.get_mut(scope);
        if s.kind == ScopeKind::Supervisor {
            s.failures_mut().unobserved.push(task);
            return;
        }
        let failures = s.failures_mut();
        if failures.first_error.is_none() {
            failures.first_error = Some(error);
            self.cancel_scope(scope);
        } else {
            failures.suppressed.push(error);
        }
    }

    /// The root scope is empty: the program is over.
    fn program_finished(&mut self) {
        let root = self.sched.root.expect("root scope");
        let first = self.heap.scopes.get(root).first_error();
        let suppressed = self
            .heap
            .scopes
            .get_mut(root)
            .failures
            .as_mut()
            .map(|f| std::mem::take(&mut f.suppressed))
            .unwrap_or_default();
        let halt = match first {
            Some(error) => {
                self.attach_suppressed(error, suppressed);
                crate::vm::Halt::Error(error)
            }
            None => match self.sched.main.and_then(|m| self.heap.tasks.get(m).outcome) {
                Some(Outcome::Value(v)) => crate::vm::Halt::Done(v),
                // Ended by an exit signal (a linked task failed): the program fails with its
                // reason rather than with "task 1 was cancelled".
                Some(Outcome::Cancelled(_)) if self.main_exit_reason().is_some() => {
                    match self.main_exit_reason().unwrap_or(Value::Nil) {
                        Value::Str(s) if &**self.heap.str(s) == "normal" => {
                            crate::vm::Halt::Done(Value::Nil)
                        }
                        reason => crate::vm::Halt::Error(reason),
                    }
                }
                Some(Outcome::Error(e) | Outcome::Cancelled(e)) => crate::vm::Halt::Error(e),
                None => crate::vm::Halt::Done(Value::Nil),
            },
        };
        self.sched.result = Some(halt);
    }

    /// The reason an exit signal gave the main task, if one ended it.
    fn main_exit_reason(&self) -> Option<Value> {
        let main = self.sched.main?;
        self.heap.tasks.get(main).process.as_ref()?.exit_reason
    }

    /// `t.cancel()`: cancels the task's own scope; true if it was still running.
    pub fn cancel_task(&mut self, task: Handle<Task>) -> bool {
        let t = self.heap.tasks.get(task);
        if t.state == TaskState::Done {
            return false;
        }
        let own = self.own_scope(task);
        self.cancel_scope(own);
        true
    }

    /// Cancels a scope and wakes the blocked tasks beneath it: the body first, then the
    /// children in spawn order (depth first). Shields stop the wave.
    pub(crate) fn cancel_scope(&mut self, scope: Handle<ScopeObj>) {
        let s = self.heap.scopes.get_mut(scope);
        if s.cancelled || s.closed {
            return;
        }
        s.cancelled = true;
        self.sched.any_cancelled = true;
        /// A node of the cancellation wave: a scope, or a child task without a scope of its own
        /// (which therefore has no children).
        enum Node {
            Scope(Handle<ScopeObj>),
            Leaf(Handle<Task>),
        }
        let mut stack = vec![Node::Scope(scope)];
        while let Some(node) = stack.pop() {
            let scope = match node {
                Node::Scope(scope) => scope,
                Node::Leaf(task) => {
                    self.notice_cancel(task);
                    continue;
                }
            };
            let s = self.heap.scopes.get(scope);
            let mut next: Vec<Node> = Vec::new();
            if let Some(owner) = s.owner {
                let scopes = &self.heap.tasks.get(owner).scopes;
                if let Some(i) = scopes.iter().position(|&x| x == scope) {
                    if let Some(&inner) = scopes.get(i + 1) {
                        if self.heap.scopes.get(inner).kind != ScopeKind::Shield {
                            next.push(Node::Scope(inner));
                        }
                    }
                }
            }
            for &child in &s.children {
                let c = self.heap.tasks.get(child);
                if c.state != TaskState::Done {
                    next.push(match c.scopes.first() {
                        Some(&own) => Node::Scope(own),
                        None => Node::Leaf(child),
                    });
                }
            }
            if let Some(owner) = s.owner {
                self.notice_cancel(owner);
            }
            stack.extend(next.into_iter().rev());
        }
    }

    /// A scope above `task` was cancelled: start its grace clock and wake it if it is blocked
    /// at a checkpoint.
    fn notice_cancel(&mut self, task: Handle<Task>) {
        if !self.effectively_cancelled(task) {
            return;
        }
        let t = self.heap.tasks.get_mut(task);
        if t.cancelled_run_ns.is_none() {
            t.cancelled_run_ns = Some(0);
        }
        if t.state == TaskState::Blocked && t.wait.cancellable() {
            self.wake(
                task,
                Resume::Raise("Cancelled", "task was cancelled".into()),
            );
        }
    }

    /// Whether a scope on the task's path to the root (up to a shield) is cancelled.
    pub(crate) fn effectively_cancelled(&self, task: Handle<Task>) -> bool {
        // Until the first cancellation, no checkpoint needs to walk the scope tree.
        if !self.sched.any_cancelled {
            return false;
        }
        let t = self.heap.tasks.get(task);
        self.scope_path_cancelled(t.scopes.last().copied().or(t.parent))
    }

    /// Whether `scope` or one of its ancestors (up to a shield) is cancelled.
    fn scope_path_cancelled(&self, mut scope: Option<Handle<ScopeObj>>) -> bool {
        while let Some(h) = scope {
            let s = self.heap.scopes.get(h);
            if s.cancelled {
                return true;
            }
            if s.kind == ScopeKind::Shield {
                return false;
            }
            scope = s.parent;
        }
        false
    }

    /// A checkpoint: raises `Cancelled` if the running task is cancelled.
    pub(crate) fn checkpoint(&mut self) -> VmResult<()> {
        match self.sched.current {
            Some(task) if self.effectively_cancelled(task) => {
                Err(raise("Cancelled", "task was cancelled"))
            }
            _ => Ok(()),
        }
    }

    /// `await t` in the running task: the result at once if `t` is done, else blocks.
    pub(crate) fn await_task(&mut self, task: Handle<Task>) -> VmResult<Value> {
        self.checkpoint()?;
        let current = self.current_task();
        if task == current {
            return Err(raise("DeadlockError", "a task cannot await itself"));
        }
        if self.heap.tasks.get(task).state == TaskState::Done {
            self.observe(task);
            return match self.outcome_resume(task) {
                Resume::Value(v) => Ok(v),
                Resume::Throw(e) => Err(Exc::Throw(e)),
                Resume::Raise(kind, message) => Err(raise(kind, &*message)),
            };
        }
        let seq = self.heap.tasks.get(current).seq;
        self.heap.tasks.get_mut(task).waiters.push((current, seq));
        Err(self.block_on(Wait::Await(task)))
    }

    /// Someone looked at a finished task's outcome: its failure counts as observed.
    pub(crate) fn observe(&mut self, task: Handle<Task>) {
        let t = self.heap.tasks.get_mut(task);
        if t.observed {
            return;
        }
        t.observed = true;
        if let Some(parent) = t.parent {
            if let Some(f) = &mut self.heap.scopes.get_mut(parent).failures {
                f.unobserved.retain(|&x| x != task);
            }
        }
    }
}

fn p_kind_is_task(vm: &Vm, scope: Handle<ScopeObj>) -> bool {
    vm.heap.scopes.get(scope).kind == ScopeKind::Task
}
