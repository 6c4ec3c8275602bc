//! The interpreter loop: runs the current task's frames for a given amount of fuel.
//!
//! The loop keeps the running frame's code, `pc` and `base` in locals and reloads them whenever a
//! call, return or throw switches frames (`continue 'frame`). Every instruction costs one unit of
//! fuel; running out saves `pc` and returns `Halt::OutOfFuel`, so the VM can stop anywhere.
//! Garbage collection happens only at calls and loop back-edges, where all live values are in registers.

use weft_compiler::Op;

use crate::call::CallOutcome;
use crate::error::{raise, Exc, VmResult};
use crate::object::{Closure, Key, RangeObj};
use crate::ops::Arith;
use crate::scope::SpawnKind;
use crate::task::ScopeKind;
use crate::value::Value;
use crate::vm::{FrameKind, Handler, Vm};

impl Vm {
    /// Delivers a thrown error to the innermost handler, or reports it uncaught.
    pub(crate) fn unwind(&mut self, exc: Exc) -> Result<(), Value> {
        let value = self.materialize(exc);
        let Some(handler) = self.handlers.pop() else {
            return Err(value);
        };
        self.frames.truncate(handler.depth);
        if let Some(frame) = self.frames.last_mut() {
            frame.pc = handler.catch_pc;
        }
        self.stack[handler.slot] = value;
        Ok(())
    }

    /// The loop proper: runs the current task until its body returns (`Some(value)`), its fuel runs
    /// out (`None`), or an exception is raised at the saved `pc` of the top frame (`Err`; a task
    /// that blocked raises `Exc::Block`).
    pub(crate) fn run_slice(&mut self, fuel: &mut u64) -> VmResult<Option<Value>> {
        // The loop counts fuel in a local that never escapes, so it lives in a register instead of
        // being loaded and stored through the caller's pointer on every instruction.
        let mut left = *fuel;
        let result = self.dispatch(&mut left);
        *fuel = left;
        result
    }

    #[inline(always)]
    fn dispatch(&mut self, fuel: &mut u64) -> VmResult<Option<Value>> {
        'frame: loop {
            let Some(frame) = self.frames.last() else {
                return Ok(Some(Value::Nil));
            };
            let proto = frame.proto.clone();
            let code: &[Op] = &proto.proto.code;
            let consts: &[Value] = &proto.consts;
            let base = frame.base;
            let module = frame.module as usize;
            let closure = frame.closure;
            let mut pc = frame.pc;
            loop {
                if *fuel == 0 {
                    self.save_pc(pc);
                    return Ok(None);
                }
                *fuel -= 1;
                let op = code[pc];
                pc += 1;
                let result: VmResult<()> = match op {
                    Op::Move { dst, src } => {
                        self.stack[base + dst as usize] = self.stack[base + src as usize];
                        Ok(())
                    }
                    Op::LoadNil { dst } => {
                        self.stack[base + dst as usize] = Value::Nil;
                        Ok(())
                    }
                    Op::LoadBool { dst, value } => {
                        self.stack[base + dst as usize] = Value::Bool(value);
                        Ok(())
                    }
                    Op::LoadInt { dst, value } => {
                        self.stack[base + dst as usize] = Value::Int(value as i64);
                        Ok(())
                    }
                    Op::LoadConst { dst, idx } => {
                        self.stack[base + dst as usize] = consts[idx as usize];
                        Ok(())
                    }
                    Op::GetGlobal { dst, slot } => {
                        match self.modules[module].globals[slot as usize] {
                            Value::Undef => Err(self.undefined_global(module, slot)),
                            value => {
                                self.stack[base + dst as usize] = value;
                                Ok(())
                            }
                        }
                    }
                    Op::SetGlobal { src, slot } => {
                        self.modules[module].globals[slot as usize] =
                            self.stack[base + src as usize];
                        Ok(())
                    }
                    Op::AssignGlobal { src, slot } => {
                        match self.modules[module].globals[slot as usize] {
                            Value::Undef => Err(self.undefined_global(module, slot)),
                            _ => {
                                self.modules[module].globals[slot as usize] =
                                    self.stack[base + src as usize];
                                Ok(())
                            }
                        }
                    }
                    Op::NewCell { dst, src } => {
                        let cell = self.heap.alloc_cell(self.stack[base + src as usize]);
                        self.stack[base + dst as usize] = Value::Cell(cell);
                        Ok(())
                    }
                    Op::GetCell { dst, cell } => {
                        if let Value::Cell(c) = self.stack[base + cell as usize] {
                            self.stack[base + dst as usize] = self.heap.cells.get(c).value;
                        }
                        Ok(())
                    }
                    Op::SetCell { cell, src } => {
                        if let Value::Cell(c) = self.stack[base + cell as usize] {
                            self.heap.cells.get_mut(c).value = self.stack[base + src as usize];
                        }
                        Ok(())
                    }
                    Op::GetUpval { dst, idx } => {
                        if let Some(c) = closure {
                            let cell = self.heap.closures.get(c).upvals[idx as usize];
                            self.stack[base + dst as usize] = self.heap.cells.get(cell).value;
                        }
                        Ok(())
                    }
                    Op::SetUpval { idx, src } => {
                        if let Some(c) = closure {
                            let cell = self.heap.closures.get(c).upvals[idx as usize];
                            self.heap.cells.get_mut(cell).value = self.stack[base + src as usize];
                        }
                        Ok(())
                    }
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
                            module: module as u32,
                        });
                        self.stack[base + dst as usize] = value;
                        Ok(())
                    }
                    Op::Add { dst, lhs, rhs } => self.binary_op(base, dst, lhs, rhs, Arith::Add),
                    Op::Sub { dst, lhs, rhs } => self.binary_op(base, dst, lhs, rhs, Arith::Sub),
                    Op::Mul { dst, lhs, rhs } => self.binary_op(base, dst, lhs, rhs, Arith::Mul),
                    Op::Div { dst, lhs, rhs } => self.binary_op(base, dst, lhs, rhs, Arith::Div),
                    Op::FloorDiv { dst, lhs, rhs } => {
                        self.binary_op(base, dst, lhs, rhs, Arith::FloorDiv)
                    }
                    Op::Mod { dst, lhs, rhs } => self.binary_op(base, dst, lhs, rhs, Arith::Mod),
                    Op::Pow { dst, lhs, rhs } => self.binary_op(base, dst, lhs, rhs, Arith::Pow),
                    Op::AddInt { dst, src, imm } => {
                        self.binary_imm(base, dst, src, imm, Arith::Add)
                    }
                    Op::MulInt { dst, src, imm } => {
                        self.binary_imm(base, dst, src, imm, Arith::Mul)
                    }
                    Op::ModInt { dst, src, imm } => {
                        self.binary_imm(base, dst, src, imm, Arith::Mod)
                    }
                    Op::FloorDivInt { dst, src, imm } => {
                        self.binary_imm(base, dst, src, imm, Arith::FloorDiv)
                    }
                    Op::Neg { dst, src } => self
                        .negate(self.stack[base + src as usize])
                        .map(|v| self.stack[base + dst as usize] = v),
                    Op::Not { dst, src } => {
                        self.stack[base + dst as usize] =
                            Value::Bool(!self.stack[base + src as usize].truthy());
                        Ok(())
                    }
                    Op::Eq { dst, lhs, rhs } => {
                        let eq = match (
                            self.stack[base + lhs as usize],
                            self.stack[base + rhs as usize],
                        ) {
                            (Value::Int(a), Value::Int(b)) => a == b,
                            (a, b) => self.equal(a, b),
                        };
                        self.stack[base + dst as usize] = Value::Bool(eq);
                        Ok(())
                    }
                    Op::Ne { dst, lhs, rhs } => {
                        let eq = match (
                            self.stack[base + lhs as usize],
                            self.stack[base + rhs as usize],
                        ) {
                            (Value::Int(a), Value::Int(b)) => a == b,
                            (a, b) => self.equal(a, b),
                        };
                        self.stack[base + dst as usize] = Value::Bool(!eq);
                        Ok(())
                    }
                    Op::Lt { dst, lhs, rhs } => self.compare_op(base, dst, lhs, rhs, |o| o.is_lt()),
                    Op::Le { dst, lhs, rhs } => self.compare_op(base, dst, lhs, rhs, |o| o.is_le()),
                    Op::Gt { dst, lhs, rhs } => self.compare_op(base, dst, lhs, rhs, |o| o.is_gt()),
                    Op::Ge { dst, lhs, rhs } => self.compare_op(base, dst, lhs, rhs, |o| o.is_ge()),
                    Op::Jump { offset } => {
                        pc = (pc as i64 + offset as i64) as usize;
                        if offset < 0 && self.heap.wants_collection() {
                            self.save_pc(pc);
                            self.maybe_collect();
                        }
                        Ok(())
                    }
                    Op::JumpIfFalse { cond, offset } => {
                        if !self.stack[base + cond as usize].truthy() {
                            pc = (pc as i64 + offset as i64) as usize;
                        }
                        Ok(())
                    }
                    Op::JumpIfTrue { cond, offset } => {
                        if self.stack[base + cond as usize].truthy() {
                            pc = (pc as i64 + offset as i64) as usize;
                        }
                        Ok(())
                    }
                    Op::JumpIfGiven { src, offset } => {
                        if !matches!(self.stack[base + src as usize], Value::Undef) {
                            pc = (pc as i64 + offset as i64) as usize;
                        }
                        Ok(())
                    }
                    Op::JumpIfNotLt { lhs, rhs, offset } => {
                        let less = match (
                            self.stack[base + lhs as usize],
                            self.stack[base + rhs as usize],
                        ) {
                            (Value::Int(a), Value::Int(b)) => Ok(a < b),
                            (a, b) => self.compare(a, b).map(|o| o.is_some_and(|o| o.is_lt())),
                        };
                        match less {
                            Ok(true) => Ok(()),
                            Ok(false) => {
                                pc = (pc as i64 + offset as i64) as usize;
                                Ok(())
                            }
                            Err(e) => Err(e),
                        }
                    }
                    Op::NewList { dst, start, count } => {
                        let s = base + start as usize;
                        let items = self.stack[s..s + count as usize].to_vec();
                        self.stack[base + dst as usize] = self.heap.alloc_list(items);
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
                    Op::GetField { dst, obj, name } => {
                        let name = name_const(consts, name);
                        self.get_field(self.stack[base + obj as usize], name)
                            .map(|v| self.stack[base + dst as usize] = v)
                    }
                    Op::SetField { obj, name, src } => {
                        let name = name_const(consts, name);
                        self.set_field(
                            self.stack[base + obj as usize],
                            name,
                            self.stack[base + src as usize],
                        )
                    }
                    Op::GetIndex { dst, obj, index } => self
                        .get_index(
                            self.stack[base + obj as usize],
                            self.stack[base + index as usize],
                        )
                        .map(|v| self.stack[base + dst as usize] = v),
                    Op::SetIndex { obj, index, src } => {
                        let (o, i, v) = (
                            self.stack[base + obj as usize],
                            self.stack[base + index as usize],
                            self.stack[base + src as usize],
                        );
                        self.set_index(o, i, v)
                    }
                    Op::Call { func, argc } => {
                        self.save_pc(pc);
                        self.maybe_collect();
                        let slot = base + func as usize;
                        // Calls of script functions are inlined here; the rest (natives,
                        // classes, bound methods) go through `call_value`.
                        let outcome = match self.stack[slot] {
                            Value::Func(closure) => {
                                self.call_closure(closure, slot, argc as usize, FrameKind::Call)
                            }
                            _ => self.call_value(slot, argc as usize),
                        };
                        match outcome {
                            Ok(CallOutcome::Pushed) => continue 'frame,
                            Ok(CallOutcome::Done) => Ok(()),
                            Err(e) => Err(e),
                        }
                    }
                    Op::CallMethod {
                        base: b,
                        name,
                        argc,
                    } => {
                        self.save_pc(pc);
                        self.maybe_collect();
                        let name = name_const(consts, name);
                        match self.call_method(base + b as usize, name, argc as usize) {
                            Ok(CallOutcome::Pushed) => continue 'frame,
                            Ok(CallOutcome::Done) => Ok(()),
                            Err(e) => Err(e),
                        }
                    }
                    Op::CallEx { func } => {
                        self.save_pc(pc);
                        self.maybe_collect();
                        match self.call_ex(base + func as usize, None) {
                            Ok(CallOutcome::Pushed) => continue 'frame,
                            Ok(CallOutcome::Done) => Ok(()),
                            Err(e) => Err(e),
                        }
                    }
                    Op::CallMethodEx { base: b, name } => {
                        self.save_pc(pc);
                        self.maybe_collect();
                        let name = name_const(consts, name);
                        let slot = base + b as usize;
                        match self
                            .resolve_method(self.stack[slot], name)
                            .and_then(|m| self.call_ex(slot, Some(m)))
                        {
                            Ok(CallOutcome::Pushed) => continue 'frame,
                            Ok(CallOutcome::Done) => Ok(()),
                            Err(e) => Err(e),
                        }
                    }
                    Op::Return { src } => {
                        let value = self.stack[base + src as usize];
                        match self.return_from_frame(value) {
                            Some(done) => return Ok(Some(done)),
                            None => continue 'frame,
                        }
                    }
                    Op::Throw { src } => Err(Exc::Throw(self.stack[base + src as usize])),
                    Op::Rethrow { src } => Err(Exc::Throw(self.stack[base + src as usize])),
                    Op::TryBegin { err, offset } => {
                        let catch_pc = (pc as i64 + offset as i64) as usize;
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
                    Op::IterLoop { iter, dst, offset } => {
                        let slot = base + iter as usize;
                        // An int range (the state `IterInit` makes of one is the end and the
                        // index, both ints) is counted here; everything else in `iter_next`.
                        let next = match (&self.stack[slot], &self.stack[slot + 1]) {
                            (&Value::Int(end), &Value::Int(i)) => (i < end).then(|| {
                                self.stack[slot + 1] = Value::Int(i + 1);
                                Value::Int(i)
                            }),
                            _ => self.iter_next(slot),
                        };
                        match next {
                            Some(value) => {
                                self.stack[base + dst as usize] = value;
                                pc = (pc as i64 + offset as i64) as usize;
                                if self.heap.wants_collection() {
                                    self.save_pc(pc);
                                    self.maybe_collect();
                                }
                                Ok(())
                            }
                            None => match self.stack[slot] {
                                // `for v in ch`: off the hot path, as channel state never
                                // holds the int index the other iterations use.
                                // When it blocks, the instruction runs again once woken and
                                // finds the received value in R[dst].
                                Value::Channel(ch) => rerun_when_woken(
                                    self.channel_iter_next(ch, slot, base + dst as usize),
                                    &mut pc,
                                )
                                .map(|next| {
                                    if let Some(value) = next {
                                        self.stack[base + dst as usize] = value;
                                        pc = (pc as i64 + offset as i64) as usize;
                                    }
                                }),
                                _ => Ok(()),
                            },
                        }
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
                            pc = (pc as i64 + offset as i64) as usize;
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
                            pc = (pc as i64 + offset as i64) as usize;
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
                        self.save_pc(pc);
                        let name = name_const(consts, name);
                        match self.import(base + dst as usize, name) {
                            Ok(CallOutcome::Pushed) => continue 'frame,
                            Ok(CallOutcome::Done) => Ok(()),
                            Err(e) => Err(e),
                        }
                    }
                    Op::NewClass { dst, name, count } => {
                        let name = name_const(consts, name);
                        let first = base + dst as usize + 1;
                        let methods: Vec<Value> =
                            self.stack[first..first + count as usize].to_vec();
                        self.stack[base + dst as usize] = self.new_class(name, &methods);
                        Ok(())
                    }
                    Op::Spawn { func, argc, kind } => {
                        self.save_pc(pc);
                        let slot = base + func as usize;
                        let args = self.stack[slot + 1..slot + 1 + argc as usize].to_vec();
                        self.check_task_limit().map(|()| {
                            let task = self.spawn_task(
                                self.stack[slot],
                                &args,
                                SpawnKind::from_code(kind),
                            );
                            self.stack[slot] = task;
                        })
                    }
                    Op::Await { dst, src } => match self.stack[base + src as usize] {
                        Value::Task(task) => {
                            self.save_pc(pc);
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
                        self.save_pc(pc);
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
                            &mut pc,
                        )
                        .map(|timed_out| {
                            if timed_out {
                                pc = (pc as i64 + offset as i64) as usize;
                            }
                        })
                    }
                    Op::ReceiveTake { base: b } => {
                        self.receive_take(base + b as usize);
                        Ok(())
                    }
                    Op::SkipCancelled { src, offset } => {
                        if self.is_cancelled_error(self.stack[base + src as usize]) {
                            pc = (pc as i64 + offset as i64) as usize;
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
                };
                if let Err(exc) = result {
                    self.save_pc(pc);
                    if matches!(exc, Exc::Block) {
                        self.sched.block_slot = base + blocked_slot(op);
                    }
                    return Err(exc);
                }
            }
        }
    }

    #[inline]
    fn save_pc(&mut self, pc: usize) {
        if let Some(frame) = self.frames.last_mut() {
            frame.pc = pc;
        }
    }

    fn undefined_global(&self, module: usize, slot: u16) -> Exc {
        let name = &self.modules[module].scope.names[slot as usize];
        raise("NameError", format!("undefined variable '{name}'"))
    }

    /// Pops the top frame and delivers its result; returns the program's result when it was the last.
    fn return_from_frame(&mut self, value: Value) -> Option<Value> {
        let frame = self.frames.pop().expect("returning frame");
        while self
            .handlers
            .last()
            .is_some_and(|h| h.depth > self.frames.len())
        {
            self.handlers.pop();
        }
        let result = match frame.kind {
            FrameKind::Call => value,
            FrameKind::Init => self.stack[frame.base],
            FrameKind::ModuleInit(id) => Value::Module(id),
        };
        if self.frames.is_empty() {
            return Some(result);
        }
        self.stack[frame.base] = result;
        None
    }

    /// `R[dst] := R[lhs] op R[rhs]`. Inlined with `op` known, so the int case is one checked
    /// machine operation; everything else (floats, strings, errors) goes out of line.
    #[inline(always)]
    fn binary_op(&mut self, base: usize, dst: u8, lhs: u8, rhs: u8, op: Arith) -> VmResult<()> {
        if let (Some(x), Some(y)) = (
            self.int_at(base + lhs as usize),
            self.int_at(base + rhs as usize),
        ) {
            if let Some(v) = int_fast(op, x, y) {
                self.stack[base + dst as usize] = Value::Int(v);
                return Ok(());
            }
        }
        let (a, b) = (
            self.stack[base + lhs as usize],
            self.stack[base + rhs as usize],
        );
        self.arith_into(base + dst as usize, op, a, b)
    }

    /// The int in `stack[slot]`, read as a tag and a payload rather than as one 16-byte value:
    /// the previous instruction usually wrote that register with two 8-byte stores, and a
    /// 16-byte load of it cannot be forwarded from them, which stalls the CPU for about a dozen
    /// cycles (perf on the loop benchmark: 28% of the samples sat on such loads).
    #[inline(always)]
    fn int_at(&self, slot: usize) -> Option<i64> {
        match &self.stack[slot] {
            Value::Int(x) => Some(*x),
            _ => None,
        }
    }

    /// `R[dst] := R[src] op imm` (an int literal on the right).
    #[inline(always)]
    fn binary_imm(&mut self, base: usize, dst: u8, src: u8, imm: i32, op: Arith) -> VmResult<()> {
        if let Some(x) = self.int_at(base + src as usize) {
            if let Some(v) = int_fast(op, x, imm as i64) {
                self.stack[base + dst as usize] = Value::Int(v);
                return Ok(());
            }
        }
        let a = self.stack[base + src as usize];
        // `x - n` is compiled as `AddInt -n`; an error message names the operator written.
        let (op, imm) = match op {
            Arith::Add if imm < 0 => (Arith::Sub, -(imm as i64)),
            _ => (op, imm as i64),
        };
        self.arith_into(base + dst as usize, op, a, Value::Int(imm))
    }

    /// The general case of an arithmetic instruction, out of line so the dispatch loop stays
    /// small: floats first (common and cheap), then `arith` with its errors.
    #[inline(never)]
    fn arith_into(&mut self, slot: usize, op: Arith, a: Value, b: Value) -> VmResult<()> {
        let value = match (op, a, b) {
            (Arith::Add, Value::Float(x), Value::Float(y)) => Value::Float(x + y),
            (Arith::Sub, Value::Float(x), Value::Float(y)) => Value::Float(x - y),
            (Arith::Mul, Value::Float(x), Value::Float(y)) => Value::Float(x * y),
            _ => self.arith(op, a, b)?,
        };
        self.stack[slot] = value;
        Ok(())
    }

    #[inline]
    fn compare_op(
        &mut self,
        base: usize,
        dst: u8,
        lhs: u8,
        rhs: u8,
        test: fn(std::cmp::Ordering) -> bool,
    ) -> VmResult<()> {
        let (a, b) = (
            self.stack[base + lhs as usize],
            self.stack[base + rhs as usize],
        );
        let result = match (a, b) {
            (Value::Int(x), Value::Int(y)) => test(x.cmp(&y)),
            _ => self.compare(a, b)?.is_some_and(test),
        };
        self.stack[base + dst as usize] = Value::Bool(result);
        Ok(())
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

/// Int arithmetic that cannot fail, or `None` when Weft's rules need the general path (overflow,
/// division by zero, `**`, `/`). With `op` a constant after inlining this is one operation.
#[inline(always)]
fn int_fast(op: Arith, x: i64, y: i64) -> Option<i64> {
    match op {
        Arith::Add => x.checked_add(y),
        Arith::Sub => x.checked_sub(y),
        Arith::Mul => x.checked_mul(y),
        // Floored: the result takes the divisor's sign.
        Arith::Mod if y != 0 => {
            let r = x.wrapping_rem(y);
            Some(if r != 0 && (r ^ y) < 0 { r + y } else { r })
        }
        Arith::FloorDiv if y != 0 && !(x == i64::MIN && y == -1) => {
            let q = x / y;
            Some(if x % y != 0 && (x ^ y) < 0 { q - 1 } else { q })
        }
        _ => None,
    }
}

/// For instructions that run again after their task is woken (`for v in ch`, `receive`): when
/// `result` is `Exc::Block`, moves `pc` back onto the instruction.
fn rerun_when_woken<T>(result: VmResult<T>, pc: &mut usize) -> VmResult<T> {
    if let Err(Exc::Block) = result {
        *pc -= 1;
    }
    result
}

/// The register (relative to the frame) that receives the result of an instruction that blocked.
fn blocked_slot(op: Op) -> usize {
    let reg = match op {
        Op::Call { func, .. } | Op::CallEx { func } => func,
        Op::CallMethod { base, .. } | Op::CallMethodEx { base, .. } => base,
        Op::Await { dst, .. } | Op::ScopeExit { dst, .. } | Op::IterLoop { dst, .. } => dst,
        Op::ReceiveNext { base, .. } => base + 2,
        _ => 0,
    };
    reg as usize
}

/// The interned string constant `K[idx]` naming a field, method, module or class. The compiler only
/// emits string constants for these operands, so anything else is a compiler bug.
#[inline]
fn name_const(consts: &[Value], idx: u16) -> crate::value::Handle<crate::object::Str> {
    match consts[idx as usize] {
        Value::Str(name) => name,
        other => unreachable!("name operand is not a string constant: {other:?}"),
    }
}
