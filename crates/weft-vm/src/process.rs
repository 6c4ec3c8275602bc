//! Processes (LANGUAGE.md §7.7): mailboxes and selective receive, links, monitors, exit signals,
//! and the task registry.
//!
//! Every task can be sent messages; its [`Process`] record (mailbox, links, monitors, trap flag)
//! is made the first time it is needed. When a task ends, its reason goes to its monitors as a
//! `{down: t, reason: r}` message and to its links as an exit signal: a linked task that traps
//! exits gets `{exit: t, reason: r}` (also for `"normal"`), any other is cancelled (its `finally`
//! blocks run) and ends with the same reason, unless the reason is `"normal"`. `exit(t, "kill")` ends a task at once without
//! running anything.

use crate::error::{raise, value_error, Exc, VmResult};
use crate::object::{Key, Map};
use crate::task::{Outcome, Process, Resume, Task, TaskState, Wait};
use crate::value::{Handle, Value};
use crate::vm::Vm;

impl Vm {
    /// The task's process record, made on first use.
    pub(crate) fn process_mut(&mut self, task: Handle<Task>) -> &mut Process {
        self.heap
            .tasks
            .get_mut(task)
            .process
            .get_or_insert_with(Default::default)
    }

    /// `t.send(msg)`: appends to the mailbox (never blocks; a finished task drops it) and wakes a
    /// task waiting in `receive`.
    pub fn send_message(&mut self, task: Handle<Task>, message: Value) {
        if self.heap.tasks.get(task).state == TaskState::Done {
            return;
        }
        self.process_mut(task).mailbox.push_back(message);
        let t = self.heap.tasks.get(task);
        if t.state == TaskState::Blocked && matches!(t.wait, Wait::Receive) {
            self.wake(task, Resume::Value(Value::Bool(false)));
        }
    }

    /// `ReceiveBegin`: cursor 0, the deadline from the timeout in `R[base+1]` (or none).
    pub(crate) fn receive_begin(&mut self, base: usize, has_after: bool) -> VmResult<()> {
        self.stack[base] = Value::Int(0);
        self.stack[base + 1] = if has_after {
            let ms = match self.stack[base + 1] {
                Value::Int(i) => i as f64,
                Value::Float(f) => f,
                other => {
                    return Err(crate::error::type_error(format!(
                        "receive timeout must be int or float, not {}",
                        self.type_name(other)
                    )))
                }
            };
            Value::Int(self.deadline_from_ms(ms) as i64)
        } else {
            Value::Nil
        };
        self.stack[base + 2] = Value::Bool(false);
        Ok(())
    }

    /// `ReceiveNext`: the message at the cursor into `R[dst]` (`Ok(false)`), or `Ok(true)` once
    /// the deadline has passed, or blocks until a message arrives or the deadline. A checkpoint.
    pub(crate) fn receive_next(&mut self, base: usize, dst: usize) -> VmResult<bool> {
        if let Value::Bool(true) = self.stack[base + 2] {
            return Ok(true);
        }
        self.checkpoint()?;
        let me = self.current_task();
        let Value::Int(cursor) = self.stack[base] else {
            return Ok(true);
        };
        if let Some(message) = self
            .heap
            .tasks
            .get(me)
            .process
            .as_ref()
            .and_then(|p| p.mailbox.get(cursor as usize))
        {
            self.stack[dst] = *message;
            return Ok(false);
        }
        if let Value::Int(deadline) = self.stack[base + 1] {
            let deadline = deadline as u64;
            if deadline <= self.sched.clock.now_ns() {
                return Ok(true);
            }
            self.wake_after(me, deadline);
        }
        Err(self.block_on(Wait::Receive))
    }

    /// `ReceiveTake`: removes the message at the cursor (its clause matched).
    pub(crate) fn receive_take(&mut self, base: usize) {
        let me = self.current_task();
        if let (Value::Int(cursor), Some(p)) =
            (self.stack[base], &mut self.heap.tasks.get_mut(me).process)
        {
            p.mailbox.remove(cursor as usize);
        }
    }

    /// `link(t)`: links the running task and `t` both ways. Linking a finished task delivers its
    /// exit signal at once.
    pub(crate) fn link(&mut self, other: Handle<Task>) {
        let me = self.current_task();
        if other == me {
            return;
        }
        if self.heap.tasks.get(other).state == TaskState::Done {
            let reason = self.reason_of(other);
            if !self.is_normal(reason) {
                self.exit_signal(other, me, reason);
            }
            return;
        }
        for (a, b) in [(me, other), (other, me)] {
            let links = &mut self.process_mut(a).links;
            if !links.contains(&b) {
                links.push(b);
            }
        }
    }

    /// `unlink(t)`.
    pub(crate) fn unlink(&mut self, other: Handle<Task>) {
        let me = self.current_task();
        for (a, b) in [(me, other), (other, me)] {
            if let Some(p) = &mut self.heap.tasks.get_mut(a).process {
                p.links.retain(|&x| x != b);
            }
        }
    }

    /// `monitor(t)`: a reference; `{down: t, reason: r}` arrives once when `t` ends (at once, with
    /// reason `"noproc"`, when it has already ended).
    pub(crate) fn monitor(&mut self, target: Handle<Task>) -> Value {
        let me = self.current_task();
        self.sched.next_monitor += 1;
        let reference = self.sched.next_monitor;
        if self.heap.tasks.get(target).state == TaskState::Done {
            let reason = self.heap.alloc_str("noproc");
            let message = self.signal_message("down", target, reason);
            self.send_message(me, message);
        } else {
            self.process_mut(target).monitored_by.push((reference, me));
            self.sched.monitors.insert(reference, target);
        }
        Value::Int(reference)
    }

    /// `demonitor(ref)`: true when the monitor was still active.
    pub(crate) fn demonitor(&mut self, reference: i64) -> bool {
        let Some(target) = self.sched.monitors.remove(&reference) else {
            return false;
        };
        if let Some(p) = &mut self.heap.tasks.get_mut(target).process {
            p.monitored_by.retain(|&(r, _)| r != reference);
        }
        true
    }

    /// `exit(t, reason)`: sends an exit signal from the running task.
    pub(crate) fn exit(&mut self, target: Handle<Task>, reason: Value) -> VmResult<()> {
        let me = self.current_task();
        if self.heap.tasks.get(target).state == TaskState::Done {
            return Ok(());
        }
        if self.is_str(reason, "kill") {
            if target == me {
                return Err(Exc::Kill);
            }
            self.kill(target);
            return Ok(());
        }
        let traps = self
            .heap
            .tasks
            .get(target)
            .process
            .as_ref()
            .is_some_and(|p| p.trap_exit);
        if !traps && self.is_normal(reason) && target != me {
            return Ok(());
        }
        self.exit_signal(me, target, reason);
        if target == me && !traps {
            // Exiting oneself takes effect now, not at the next checkpoint.
            return Err(raise("Cancelled", "task was cancelled"));
        }
        Ok(())
    }

    /// An exit signal with `reason` from `from` reaches `to`: a message if `to` traps exits,
    /// otherwise `to` is cancelled and will end with that reason.
    fn exit_signal(&mut self, from: Handle<Task>, to: Handle<Task>, reason: Value) {
        if self.heap.tasks.get(to).state == TaskState::Done {
            return;
        }
        let traps = self
            .heap
            .tasks
            .get(to)
            .process
            .as_ref()
            .is_some_and(|p| p.trap_exit);
        if traps {
            let message = self.signal_message("exit", from, reason);
            self.send_message(to, message);
        } else {
            self.process_mut(to).exit_reason = Some(reason);
            self.cancel_task(to);
        }
    }

    /// Ends another task at once: no handler or `finally` runs, and its reason is `"killed"`.
    pub(crate) fn kill(&mut self, task: Handle<Task>) {
        let t = self.heap.tasks.get_mut(task);
        if t.state == TaskState::Done {
            return;
        }
        // Leave whatever it waits on; if it is in a ready queue, the scheduler skips it once done.
        let wait = std::mem::replace(&mut t.wait, Wait::None);
        t.seq = t.seq.wrapping_add(1);
        t.frames.clear();
        t.handlers.clear();
        self.forget_wait(task, wait);
        self.terminate(task);
    }

    /// Finishes a killed task: its children are cancelled, and it ends cancelled with reason
    /// `"killed"`.
    pub(crate) fn terminate(&mut self, task: Handle<Task>) {
        let killed = self.heap.alloc_str("killed");
        self.process_mut(task).exit_reason = Some(killed);
        if let Some(&own) = self.heap.tasks.get(task).scopes.first() {
            self.cancel_scope(own);
        }
        let error = self.new_error("Cancelled", "task was killed");
        self.finalize_task(task, Err(error));
    }

    /// `trap_exit(flag)`: returns the previous setting.
    pub(crate) fn trap_exit(&mut self, on: bool) -> bool {
        let me = self.current_task();
        std::mem::replace(&mut self.process_mut(me).trap_exit, on)
    }

    /// `register(name, t)`.
    pub(crate) fn register(&mut self, name: crate::text::Text, task: Handle<Task>) -> VmResult<()> {
        if let Some(&holder) = self.sched.registry.get(&name) {
            if holder != task {
                return Err(value_error(format!("name '{name}' is already registered")));
            }
        }
        if self.heap.tasks.get(task).state == TaskState::Done {
            return Err(value_error(format!(
                "cannot register '{name}': the task has finished"
            )));
        }
        let p = self.process_mut(task);
        match &p.name {
            Some(old) if *old == name => return Ok(()),
            Some(old) => {
                return Err(value_error(format!(
                    "the task is already registered as '{old}'"
                )))
            }
            None => p.name = Some(name.clone()),
        }
        self.sched.registry.insert(name, task);
        Ok(())
    }

    /// `unregister(name)`: true when the name was registered.
    pub(crate) fn unregister(&mut self, name: &str) -> bool {
        let Some(task) = self.sched.registry.remove(name) else {
            return false;
        };
        if let Some(p) = &mut self.heap.tasks.get_mut(task).process {
            p.name = None;
        }
        true
    }

    /// `whereis(name)`: the task, or nil.
    pub(crate) fn whereis(&self, name: &str) -> Value {
        self.sched
            .registry
            .get(name)
            .map_or(Value::Nil, |&t| Value::Task(t))
    }

    /// A task ended: unregister it, tell its monitors, and send exit signals to its links.
    /// Returns whether a failure reached someone (it then counts as observed).
    pub(crate) fn process_exit(&mut self, task: Handle<Task>) -> bool {
        let Some(process) = self.heap.tasks.get_mut(task).process.take() else {
            return false;
        };
        if let Some(name) = &process.name {
            if self.sched.registry.get(name) == Some(&task) {
                self.sched.registry.remove(name);
            }
        }
        let reason = match process.exit_reason {
            Some(reason) => reason,
            None => self.reason_of(task),
        };
        let mut delivered = false;
        // Monitors get a message; links an exit signal. Whoever began waiting first wakes first.
        let mut recipients: Vec<(Handle<Task>, bool)> = Vec::new();
        // Only a recipient that is still running observes the failure.
        let alive = |vm: &Vm, t: Handle<Task>| vm.heap.tasks.get(t).state != TaskState::Done;
        for &(reference, watcher) in &process.monitored_by {
            self.sched.monitors.remove(&reference);
            if alive(self, watcher) {
                recipients.push((watcher, true));
                delivered = true;
            }
        }
        let normal = self.is_normal(reason);
        for &linked in &process.links {
            let Some(p) = &mut self.heap.tasks.get_mut(linked).process else {
                continue;
            };
            p.links.retain(|&x| x != task);
            // A normal end reaches only a task that traps exits (as a message), as in Erlang.
            if (!normal || p.trap_exit) && alive(self, linked) {
                recipients.push((linked, false));
                delivered |= !normal;
            }
        }
        recipients.sort_by_key(|&(t, _)| self.heap.tasks.get(t).wait_began);
        for (recipient, monitors) in recipients {
            if monitors {
                let message = self.signal_message("down", task, reason);
                self.send_message(recipient, message);
            } else {
                self.exit_signal(task, recipient, reason);
            }
        }
        // Keep the reason for a later `link` to this task.
        self.heap.tasks.get_mut(task).process = Some(Box::new(Process {
            exit_reason: Some(reason),
            ..Default::default()
        }));
        delivered
    }

    /// Why a finished task ended: `"normal"`, its error, or the reason an exit signal gave.
    fn reason_of(&mut self, task: Handle<Task>) -> Value {
        let t = self.heap.tasks.get(task);
        if let Some(reason) = t.process.as_ref().and_then(|p| p.exit_reason) {
            return reason;
        }
        match t.outcome {
            Some(Outcome::Error(e)) => e,
            Some(Outcome::Cancelled(_)) => self.heap.alloc_str("cancelled"),
            _ => self.heap.alloc_str("normal"),
        }
    }

    fn is_normal(&self, reason: Value) -> bool {
        self.is_str(reason, "normal")
    }

    fn is_str(&self, value: Value, text: &str) -> bool {
        matches!(value, Value::Str(s) if &**self.heap.str(s) == text)
    }

    /// `{<kind>: task, reason: reason}`.
    fn signal_message(&mut self, kind: &str, task: Handle<Task>, reason: Value) -> Value {
        let mut map = Map::default();
        map.insert(Key::Str(kind.into()), Value::Task(task));
        map.insert(Key::Str("reason".into()), reason);
        self.heap.alloc_map(map)
    }
}
