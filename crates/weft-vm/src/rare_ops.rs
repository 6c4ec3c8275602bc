//! Instructions the dispatch loop runs out of line: building closures, maps and classes, list
//! spreads, calls with spread or named arguments, `try`, pattern tests, string interpolation,
//! imports, and the concurrency instructions (spawn, await, scopes, receive).
//!
//! Keeping them out of `interp.rs`'s loop keeps that loop smaller, so more of its hot state (the
//! program counter, the code) stays in registers. Measured with callgrind, with `pc` passed by
//! value and the slow paths `#[cold]`: fib(25) 121M -> 116M instructions, loop 3M 771M -> 735M.

use weft_compiler::Op;

use crate::call::CallOutcome;
use crate::error::{raise, Exc, VmResult};
use crate::interp::{name_const, rerun_when_woken};
use crate::object::{Closure, Key, RangeObj};
use crate::scope::SpawnKind;
use crate::task::ScopeKind;
use crate::value::Value;
use crate::vm::{FnProto, Handler, Vm};

/// What the dispatch loop does after an out-of-line instruction.
pub(crate) enum Flow {
    /// Go on with the next instruction of this frame.
    Next,
    /// A frame was pushed (a call or an import): switch to it.
    Frame,
}

impl Vm {
    /// Runs `op`, an instruction of the frame whose function is `proto` and registers start at
    /// `base`; `pc` is the next instruction. Returns the outcome and
    /// the `pc` to go on from (jumps move it). `pc` goes in and out by value: were its address
    /// passed here, the dispatch loop would have to keep it in memory on every instruction.
    #[cold]
    #[inline(never)]
    pub(crate) fn rare_op(
        &mut self,
        op: Op,
        proto: &FnProto,
        base: usize,
        pc: usize,
    ) -> (VmResult<Flow>, usize) {
        let mut pc = pc;
        let result = self.run_rare_op(op, proto, base, &mut pc);
        (result, pc)
    }

    #[inline(always)]
    fn run_rare_op(
        &mut self,
        op: Op,
        proto: &FnProto,
        base: usize,
        pc: &mut usize,
    ) -> VmResult<Flow> {
        let consts: &[Value] = &proto.consts;
        let closure = self.running_closure();
        let result: VmResult<()> = match op {
            Op::Closure { dst, proto: idx } => {
                let child = proto.children[idx as usize].clone();
                let upvals = child
                    .proto
                    .captures
                    .iter()
                    .map(|capture| match *capture {
                        weft_compiler::Capture::Local(reg) => {
                            match self.stack[base + reg as usize] {
                                Value::Cell(c) => c,
                                // Unreachable with a correct compiler; a fresh cell keeps the VM safe.
                                other => self.heap.alloc_cell(other),
                            }
                        }
                        weft_compiler::Capture::Upval(i) => {
                            let c = closure.expect("upvalue capture inside a closure");
                            self.heap.closures.get(c).upvals[i as usize]
                        }
                    })
                    .collect();
                let value = self.heap.alloc_closure(Closure {
                    proto: child,
                    upvals,
                });
                self.stack[base + dst as usize] = value;
                Ok(())
            }
            Op::ListPush { list, src } => {
                if let Value::List(l) = self.stack[base + list as usize] {
                    let v = self.stack[base + src as usize];
                    self.heap.lists.get_mut(l).push(v);
                }
                Ok(())
            }
            Op::ListExtend { list, src } => self.list_extend(
                self.stack[base + list as usize],
                self.stack[base + src as usize],
            ),
            Op::NewMap { dst } => {
                self.stack[base + dst as usize] = self.heap.alloc_map(Default::default());
                Ok(())
            }
            Op::MapInsert { map, key, value } => {
                let (m, k, v) = (
                    self.stack[base + map as usize],
                    self.stack[base + key as usize],
                    self.stack[base + value as usize],
                );
                self.set_index(m, k, v)
            }
            Op::MapExtend { map, src } => self.map_extend(
                self.stack[base + map as usize],
                self.stack[base + src as usize],
            ),
            Op::NewRange { dst, inclusive } => {
                let r = base + dst as usize;
                self.new_range(self.stack[r], self.stack[r + 1], inclusive)
                    .map(|v| self.stack[r] = v)
            }
            Op::CallEx { func } => {
                self.save_pc(*pc);
                self.maybe_collect();
                match self.call_ex(base + func as usize, None) {
                    Ok(CallOutcome::Pushed) => return Ok(Flow::Frame),
                    Ok(CallOutcome::Done) => Ok(()),
                    Err(e) => Err(e),
                }
            }
            Op::CallMethodEx { base: b, name } => {
                self.save_pc(*pc);
                self.maybe_collect();
                let name = name_const(consts, name);
                let slot = base + b as usize;
                match self
                    .resolve_method(self.stack[slot], name)
                    .and_then(|m| self.call_ex(slot, Some(m)))
                {
                    Ok(CallOutcome::Pushed) => return Ok(Flow::Frame),
                    Ok(CallOutcome::Done) => Ok(()),
                    Err(e) => Err(e),
                }
            }
            Op::Throw { src } => Err(Exc::Throw(self.stack[base + src as usize])),
            Op::Rethrow { src } => Err(Exc::Throw(self.stack[base + src as usize])),
            Op::TryBegin { err, offset } => {
                let catch_pc = (*pc as i64 + offset as i64) as usize;
                self.handlers.push(Handler {
                    depth: self.frames.len(),
                    catch_pc,
                    slot: base + err as usize,
                });
                Ok(())
            }
            Op::TryEnd => {
                self.handlers.pop();
                Ok(())
            }
            Op::IterInit { iter, src } => {
                let slot = base + iter as usize;
                self.iter_init(self.stack[base + src as usize])
                    .map(|(state, index)| {
                        self.stack[slot] = state;
                        self.stack[slot + 1] = index;
                    })
            }
            Op::TestList {
                src,
                count,
                rest,
                offset,
            } => {
                let ok = match self.stack[base + src as usize] {
                    Value::List(l) => {
                        let len = self.heap.lists.get(l).len();
                        if rest {
                            len >= count as usize
                        } else {
                            len == count as usize
                        }
                    }
                    _ => false,
                };
                if !ok {
                    *pc = (*pc as i64 + offset as i64) as usize;
                }
                Ok(())
            }
            Op::CheckList { src, count, rest } => {
                self.check_list(self.stack[base + src as usize], count as usize, rest)
            }
            Op::TestMapKey { src, key, offset } => {
                let found = match (self.stack[base + src as usize], consts[key as usize]) {
                    (Value::Map(m), Value::Str(k)) => {
                        let key = Key::Str(self.heap.str(k).clone());
                        self.heap.maps.get(m).contains_key(&key)
                    }
                    _ => false,
                };
                if !found {
                    *pc = (*pc as i64 + offset as i64) as usize;
                }
                Ok(())
            }
            Op::SliceRest {
                dst,
                src,
                from,
                from_end,
            } => {
                if let Value::List(l) = self.stack[base + src as usize] {
                    let items = self.heap.lists.get(l);
                    let end = items.len().saturating_sub(from_end as usize);
                    let rest = items
                        .get(from as usize..end)
                        .map(<[Value]>::to_vec)
                        .unwrap_or_default();
                    self.stack[base + dst as usize] = self.heap.alloc_list(rest);
                }
                Ok(())
            }
            Op::Concat { dst, start, count } => {
                let mut text = String::new();
                for i in 0..count as usize {
                    let v = self.stack[base + start as usize + i];
                    match v {
                        Value::Str(h) => text.push_str(self.heap.str(h)),
                        other => text.push_str(&self.display(other)),
                    }
                }
                self.stack[base + dst as usize] = self.heap.alloc_str(text);
                Ok(())
            }
            Op::Import { dst, name } => {
                self.save_pc(*pc);
                let name = name_const(consts, name);
                match self.import(base + dst as usize, name) {
                    Ok(CallOutcome::Pushed) => return Ok(Flow::Frame),
                    Ok(CallOutcome::Done) => Ok(()),
                    Err(e) => Err(e),
                }
            }
            Op::NewClass { dst, name, count } => {
                let name = name_const(consts, name);
                let first = base + dst as usize + 1;
                let methods: Vec<Value> = self.stack[first..first + count as usize].to_vec();
                self.stack[base + dst as usize] = self.new_class(name, &methods);
                Ok(())
            }
            Op::Spawn { func, argc, kind } => {
                self.save_pc(*pc);
                let slot = base + func as usize;
                let args = self.stack[slot + 1..slot + 1 + argc as usize].to_vec();
                self.check_task_limit().map(|()| {
                    let task = self.spawn_task(self.stack[slot], &args, SpawnKind::from_code(kind));
                    self.stack[slot] = task;
                })
            }
            Op::Await { dst, src } => match self.stack[base + src as usize] {
                Value::Task(task) => {
                    self.save_pc(*pc);
                    self.await_task(task)
                        .map(|v| self.stack[base + dst as usize] = v)
                }
                // Awaiting a plain value returns it.
                value => {
                    self.stack[base + dst as usize] = value;
                    Ok(())
                }
            },
            Op::ScopeEnter { dst, kind } => {
                let kind = match kind {
                    1 => ScopeKind::Supervisor,
                    2 => ScopeKind::Shield,
                    _ => ScopeKind::Block,
                };
                self.stack[base + dst as usize] = self.scope_enter(kind);
                Ok(())
            }
            Op::ScopeExit { dst, scope, failed } => {
                self.save_pc(*pc);
                let value = self.stack[base + dst as usize];
                let body = if failed { Err(value) } else { Ok(value) };
                match self.stack[base + scope as usize] {
                    Value::Scope(s) => self
                        .scope_exit(s, body)
                        .map(|v| self.stack[base + dst as usize] = v),
                    _ => Ok(()),
                }
            }
            Op::ReceiveBegin { base: b, has_after } => {
                self.receive_begin(base + b as usize, has_after)
            }
            Op::ReceiveNext {
                base: b,
                dst,
                offset,
            } => {
                // When it blocks, the instruction runs again once a message or the
                // deadline wakes the task (the waker sets the timed-out flag R[base+2]).
                rerun_when_woken(
                    self.receive_next(base + b as usize, base + dst as usize),
                    pc,
                )
                .map(|timed_out| {
                    if timed_out {
                        *pc = (*pc as i64 + offset as i64) as usize;
                    }
                })
            }
            Op::ReceiveTake { base: b } => {
                self.receive_take(base + b as usize);
                Ok(())
            }
            Op::SkipCancelled { src, offset } => {
                if self.is_cancelled_error(self.stack[base + src as usize]) {
                    *pc = (*pc as i64 + offset as i64) as usize;
                }
                Ok(())
            }
            Op::RethrowOver { src, over } => {
                // `Cancelled` raised in a `finally` does not replace the error already
                // propagating through it (LANGUAGE.md §7.3).
                let error = self.stack[base + src as usize];
                if self.is_cancelled_error(error) {
                    Err(Exc::Throw(self.stack[base + over as usize]))
                } else {
                    Err(Exc::Throw(error))
                }
            }
            Op::NoMatch { src } => {
                let shown = self.repr(self.stack[base + src as usize]);
                Err(raise("ValueError", format!("no match arm matched {shown}")))
            }
            _ => unreachable!("{op:?} runs in the dispatch loop"),
        };
        result
            .map(|()| Flow::Next)
            .map_err(|e| self.blocked_into(e, base + blocked_slot(op)))
    }

    fn new_range(&mut self, start: Value, end: Value, inclusive: bool) -> VmResult<Value> {
        let bound = |v: Value, vm: &Vm| match v {
            Value::Nil => Ok(None),
            Value::Int(i) => Ok(Some(i)),
            other => Err(crate::error::type_error(format!(
                "range bounds must be int, not {}",
                vm.type_name(other)
            ))),
        };
        let range = RangeObj {
            start: bound(start, self)?,
            end: bound(end, self)?,
            inclusive,
            step: 1,
        };
        Ok(self.heap.alloc_range(range))
    }
}

/// The register (relative to the frame) that receives the result of an instruction that blocked.
fn blocked_slot(op: Op) -> usize {
    let reg = match op {
        Op::CallEx { func } => func,
        Op::CallMethodEx { base, .. } => base,
        Op::Await { dst, .. } | Op::ScopeExit { dst, .. } => dst,
        Op::ReceiveNext { base, .. } => base + 2,
        _ => 0,
    };
    reg as usize
}
