//! Channels and `select` (LANGUAGE.md §7.6).
//!
//! A value moves either straight from a blocked sender to a receiver, or through the buffer; a
//! blocked sender keeps its value in its own `Wait` until a receiver takes it. Wait queues hold
//! `(task, seq)` pairs: an entry whose task has since been woken for another reason (its `seq`
//! moved on) is skipped, which is how a `select` that committed elsewhere leaves the other queues.

use crate::error::{raise, Exc, VmResult};
use crate::task::Resume;
use crate::task::{Channel, RecvMode, SelectCase, Task, TaskState, Wait};
use crate::value::{Handle, Value};
use crate::vm::Vm;

/// `ChannelClosed` for a send.
fn closed_for_send() -> Exc {
    raise("ChannelClosed", "send on a closed channel")
}

/// `ChannelClosed` for a receive.
fn closed_for_recv() -> Exc {
    raise("ChannelClosed", "receive from a closed channel")
}

impl Vm {
    /// `channel(n)`.
    pub(crate) fn new_channel(&mut self, cap: usize) -> Value {
        self.heap.alloc_channel(Channel::new(cap))
    }

    /// `ch.send(v)`: hands `v` to a waiting receiver, buffers it, or blocks.
    pub(crate) fn channel_send(&mut self, ch: Handle<Channel>, value: Value) -> VmResult<Value> {
        self.checkpoint()?;
        if self.try_send(ch, value)? {
            return Ok(Value::Nil);
        }
        let me = self.current_task();
        let seq = self.heap.tasks.get(me).seq;
        self.heap.channels.get_mut(ch).senders.push_back((me, seq));
        Err(self.block_on(Wait::Send(ch, value)))
    }

    /// A send that completes now, if one can: `Ok(false)` when it would block.
    fn try_send(&mut self, ch: Handle<Channel>, value: Value) -> VmResult<bool> {
        if self.heap.channels.get(ch).closed {
            return Err(closed_for_send());
        }
        if self.give_to_receiver(ch, value) {
            return Ok(true);
        }
        let c = self.heap.channels.get_mut(ch);
        if c.buffer.len() < c.cap {
            c.buffer.push_back(value);
            return Ok(true);
        }
        Ok(false)
    }

    /// `ch.recv()`, `ch.recv_ok()` or one step of `for v in ch` (see [`RecvMode`]).
    pub(crate) fn channel_recv(&mut self, ch: Handle<Channel>, mode: RecvMode) -> VmResult<Value> {
        self.checkpoint()?;
        if let Some(result) = self.try_recv(ch, mode)? {
            return Ok(result);
        }
        let me = self.current_task();
        let seq = self.heap.tasks.get(me).seq;
        self.heap
            .channels
            .get_mut(ch)
            .receivers
            .push_back((me, seq));
        Err(self.block_on(Wait::Recv(ch, mode)))
    }

    /// A receive that completes now, if one can (`Ok(None)` when it would block).
    fn try_recv(&mut self, ch: Handle<Channel>, mode: RecvMode) -> VmResult<Option<Value>> {
        let value = match self.heap.channels.get_mut(ch).buffer.pop_front() {
            Some(v) => {
                // Room freed: the oldest blocked sender's value moves into the buffer.
                if let Some(next) = self.take_from_sender(ch) {
                    self.heap.channels.get_mut(ch).buffer.push_back(next);
                }
                Some(v)
            }
            None => self.take_from_sender(ch),
        };
        match value {
            Some(v) => self.received(Some(v), mode).map(Some),
            None if self.heap.channels.get(ch).closed => self.received(None, mode).map(Some),
            None => Ok(None),
        }
    }

    /// What a receive in `mode` gives for `value` (`None`: the channel is closed and drained).
    fn received(&mut self, value: Option<Value>, mode: RecvMode) -> VmResult<Value> {
        Ok(match (value, mode) {
            (Some(v), RecvMode::Plain | RecvMode::Iter) => v,
            (Some(v), RecvMode::Ok) => self.heap.alloc_list(vec![v, Value::Bool(true)]),
            (None, RecvMode::Plain) => return Err(closed_for_recv()),
            (None, RecvMode::Ok) => self.heap.alloc_list(vec![Value::Nil, Value::Bool(false)]),
            (None, RecvMode::Iter) => Value::Undef,
        })
    }

    /// The index and mode of the receive case on `ch` in a select.
    fn recv_case(cases: &[SelectCase], ch: Handle<Channel>) -> Option<(usize, RecvMode)> {
        cases.iter().enumerate().find_map(|(i, c)| match *c {
            SelectCase::Recv(x, mode) if x == ch => Some((i, mode)),
            _ => None,
        })
    }

    /// Turns a receive result into what a woken task gets.
    fn resume_with(&mut self, result: VmResult<Value>, case: Option<usize>) -> Resume {
        match (result, case) {
            (Ok(v), None) => Resume::Value(v),
            (Ok(v), Some(i)) => Resume::Value(self.heap.alloc_list(vec![Value::Int(i as i64), v])),
            (Err(_), _) => Resume::Raise("ChannelClosed", "receive from a closed channel".into()),
        }
    }

    /// `ch.close()`: true the first time. Blocked receivers (there are some only when nothing is
    /// buffered or waiting to be sent) learn that the channel is closed.
    pub(crate) fn channel_close(&mut self, ch: Handle<Channel>) -> bool {
        let c = self.heap.channels.get_mut(ch);
        if c.closed {
            return false;
        }
        c.closed = true;
        let receivers: Vec<(Handle<Task>, u32)> = c.receivers.drain(..).collect();
        for (task, seq) in receivers {
            let Some(wait) = self.live_wait(task, seq) else {
                continue;
            };
            let resume = match wait {
                Wait::Recv(_, mode) => {
                    let result = self.received(None, mode);
                    self.resume_with(result, None)
                }
                Wait::Select(cases) => {
                    let Some((i, mode)) = Self::recv_case(&cases, ch) else {
                        continue;
                    };
                    let result = self.received(None, mode);
                    self.resume_with(result, Some(i))
                }
                _ => continue,
            };
            self.wake(task, resume);
        }
        true
    }

    /// The wait of a queued task, if the entry is still current.
    fn live_wait(&self, task: Handle<Task>, seq: u32) -> Option<Wait> {
        let t = self.heap.tasks.try_get(task)?;
        (t.seq == seq && t.state == TaskState::Blocked).then(|| t.wait.clone())
    }

    /// Gives `value` to the oldest task blocked receiving on `ch`; false if there is none.
    fn give_to_receiver(&mut self, ch: Handle<Channel>, value: Value) -> bool {
        while let Some((task, seq)) = self.heap.channels.get_mut(ch).receivers.pop_front() {
            let Some(wait) = self.live_wait(task, seq) else {
                continue;
            };
            let resume = match wait {
                Wait::Recv(_, mode) => {
                    let result = self.received(Some(value), mode);
                    self.resume_with(result, None)
                }
                Wait::Select(cases) => {
                    let Some((i, mode)) = Self::recv_case(&cases, ch) else {
                        continue;
                    };
                    let result = self.received(Some(value), mode);
                    self.resume_with(result, Some(i))
                }
                _ => continue,
            };
            self.wake(task, resume);
            return true;
        }
        false
    }

    /// Takes the value of the oldest task blocked sending on `ch` and wakes it.
    fn take_from_sender(&mut self, ch: Handle<Channel>) -> Option<Value> {
        while let Some((task, seq)) = self.heap.channels.get_mut(ch).senders.pop_front() {
            let Some(wait) = self.live_wait(task, seq) else {
                continue;
            };
            match wait {
                Wait::Send(_, value) => {
                    self.wake(task, Resume::Value(Value::Nil));
                    return Some(value);
                }
                Wait::Select(cases) => {
                    let Some((i, value)) = cases.iter().enumerate().find_map(|(i, c)| match *c {
                        SelectCase::Send(x, v) if x == ch => Some((i, v)),
                        _ => None,
                    }) else {
                        continue;
                    };
                    let result = self.heap.alloc_list(vec![Value::Int(i as i64), Value::Nil]);
                    self.wake(task, Resume::Value(result));
                    return Some(value);
                }
                _ => continue,
            }
        }
        None
    }

    /// The next value of `for v in ch` (state in `R[slot]`, `R[slot+1]`; the loop variable is
    /// `R[dst]`): `None` once the channel is closed and drained. A loop that had to wait marks
    /// `R[slot+1] = true`; its waker then delivers the value (or `Undef` at the end) into `R[dst]`,
    /// and the `IterLoop` instruction runs again to pick it up.
    pub(crate) fn channel_iter_next(
        &mut self,
        ch: Handle<Channel>,
        slot: usize,
        dst: usize,
    ) -> VmResult<Option<Value>> {
        let value = if let Value::Bool(true) = self.stack[slot + 1] {
            self.stack[slot + 1] = Value::Undef;
            self.stack[dst]
        } else {
            match self.channel_recv(ch, RecvMode::Iter) {
                Err(Exc::Block) => {
                    self.stack[slot + 1] = Value::Bool(true);
                    return Err(Exc::Block);
                }
                other => other?,
            }
        };
        Ok((!matches!(value, Value::Undef)).then_some(value))
    }

    /// `select`: the first ready case in source order commits; `default` when none is; otherwise
    /// the task waits on every case at once. Returns `[case index, value]`.
    pub(crate) fn select(&mut self, cases: Vec<SelectCase>) -> VmResult<Value> {
        self.checkpoint()?;
        let mut default = None;
        for (i, case) in cases.iter().enumerate() {
            let ready = match *case {
                SelectCase::Recv(ch, mode) => self.try_recv(ch, mode)?,
                SelectCase::Send(ch, v) => self.try_send(ch, v)?.then_some(Value::Nil),
                SelectCase::Await(t) => {
                    if self.heap.tasks.get(t).state == TaskState::Done {
                        Some(self.await_task(t)?)
                    } else {
                        None
                    }
                }
                SelectCase::After(at) => (at <= self.sched.clock.now_ns()).then_some(Value::Nil),
                SelectCase::Default => {
                    default = Some(i);
                    None
                }
            };
            if let Some(value) = ready {
                return Ok(self.heap.alloc_list(vec![Value::Int(i as i64), value]));
            }
        }
        if let Some(i) = default {
            return Ok(self.heap.alloc_list(vec![Value::Int(i as i64), Value::Nil]));
        }
        let me = self.current_task();
        let seq = self.heap.tasks.get(me).seq;
        for case in &cases {
            match *case {
                SelectCase::Recv(ch, _) => {
                    self.heap
                        .channels
                        .get_mut(ch)
                        .receivers
                        .push_back((me, seq));
                }
                SelectCase::Send(ch, _) => {
                    self.heap.channels.get_mut(ch).senders.push_back((me, seq));
                }
                SelectCase::Await(t) => self.heap.tasks.get_mut(t).waiters.push((me, seq)),
                SelectCase::After(at) => self.wake_after(me, at),
                SelectCase::Default => {}
            }
        }
        Err(self.block_on(Wait::Select(cases.into())))
    }
}
