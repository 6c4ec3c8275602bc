//! What a host (an embedding program, or the runtime's I/O) does with a VM that is running tasks:
//! start calls and programs as tasks of the root scope, read their outcomes, and park a task on an
//! operation that the host completes later.
//!
//! A native that starts a host operation calls [`Vm::park_on_host`] and returns the `Exc` it
//! gets; the task waits, every other task keeps running, and [`Vm::run`] reports
//! [`Halt::Idle`](crate::Halt) (not a deadlock) while operations are pending. The host later calls
//! [`Vm::complete_host`] with the result, which wakes the task at the call. If the task was
//! cancelled meanwhile, the operation is abandoned and its result is dropped.

use std::rc::Rc;

use crate::error::Exc;
use crate::task::{Outcome, Resume, Task, TaskState, Wait};
use crate::value::{Handle, Value};
use crate::vm::{FnProto, Vm};

/// A pending host operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HostOp(pub u64);

impl Vm {
    /// Spawns a task in the root scope that calls `func(args)`. Its failure is the host's to
    /// read with [`Vm::task_result`]: it does not fail the root scope.
    pub fn spawn_host_call(&mut self, func: Value, args: &[Value]) -> Handle<Task> {
        self.sched.result = None;
        let task = match self.spawn_task(func, args, crate::scope::SpawnKind::Detached) {
            Value::Task(t) => t,
            _ => unreachable!("spawn_task returns a task"),
        };
        self.heap.tasks.get_mut(task).observed = true;
        task
    }

    /// Spawns a task in the root scope running a module's top-level code (`main` from
    /// [`Vm::compile`]). Like [`Vm::spawn_host_call`], its failure is the host's to read.
    ///
    /// # Panics
    /// If `main` was compiled by another `Vm`.
    pub fn spawn_host_module(&mut self, main: Rc<FnProto>) -> Handle<Task> {
        self.sched.result = None;
        let saved = (
            std::mem::take(&mut self.stack),
            std::mem::take(&mut self.frames),
            std::mem::take(&mut self.handlers),
        );
        self.load_top_level(main);
        let task = self.spawn_root_task(None);
        (self.stack, self.frames, self.handlers) = saved;
        self.heap.tasks.get_mut(task).observed = true;
        task
    }

    /// A finished task's result: its value, or the error it failed with (`TaskCancelled` for a
    /// cancelled task); `None` while it runs.
    pub fn task_result(&self, task: Handle<Task>) -> Option<Result<Value, Value>> {
        match self.heap.tasks.get(task).outcome? {
            Outcome::Value(v) => Some(Ok(v)),
            Outcome::Error(e) | Outcome::Cancelled(e) => Some(Err(e)),
        }
    }

    /// Whether `task` has finished.
    pub fn task_done(&self, task: Handle<Task>) -> bool {
        self.heap.tasks.get(task).state == TaskState::Done
    }

    /// Parks the running task on a new host operation. The calling native returns the `Exc`:
    /// `return Err(vm.park_on_host().1)`.
    pub fn park_on_host(&mut self) -> (HostOp, Exc) {
        self.sched.next_host_op += 1;
        let id = self.sched.next_host_op;
        let task = self.current_task();
        self.sched.host_ops.insert(id, task);
        self.sched.host_waits += 1;
        (HostOp(id), self.block_on(Wait::Host(id)))
    }

    /// Completes a host operation: its task resumes with `Ok(value)` as the call's result, or
    /// with `Err(error)` thrown at the call. Returns false when the operation was abandoned (its
    /// task was cancelled) or is unknown.
    pub fn complete_host(&mut self, op: HostOp, result: Result<Value, Value>) -> bool {
        let Some(task) = self.sched.host_ops.remove(&op.0) else {
            return false;
        };
        self.sched.host_waits -= 1;
        let resume = match result {
            Ok(v) => Resume::Value(v),
            Err(e) => Resume::Throw(e),
        };
        self.wake(task, resume);
        true
    }

    /// Cancels every task (the root scope): each gets `Cancelled` at its next checkpoint, and a
    /// task that runs without one is interrupted after the cancel grace. Used by a host to stop
    /// a runaway script.
    pub fn cancel_all(&mut self) {
        let root = self.root_scope();
        self.cancel_scope(root);
    }

    /// The error that failed the root scope (a detached task's unobserved failure, the deadline),
    /// if any: it is why every task was cancelled.
    pub fn root_failure(&self) -> Option<Value> {
        self.heap.scopes.get(self.sched.root?).first_error()
    }

    /// Host operations nobody waits for any more (their task was cancelled), since the last
    /// call: the host stops them (a subprocess is killed, a socket operation dropped).
    pub fn take_abandoned_host_ops(&mut self) -> Vec<HostOp> {
        std::mem::take(&mut self.sched.abandoned)
    }

    /// How many host operations are pending.
    pub fn pending_host_ops(&self) -> usize {
        self.sched.host_waits
    }
}
