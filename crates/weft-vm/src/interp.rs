//! The interpreter loop: runs the current task's frames for a given amount of fuel.
//!
//! The loop keeps the running frame's function, next instruction (`ip`, a pointer, as frames save
//! it) and `base` in locals. A plain script call sets them from the callee; a return, a throw or
//! any other switch reloads them from the top frame (`continue 'frame`). Fuel is counted in reductions: a
//! call, a loop's back edge and an out-of-line instruction (`rare_ops.rs`) cost one unit each, and
//! running out saves `pc` at that instruction and returns `Halt::OutOfFuel`.
//! Garbage collection happens only at calls and loop back-edges, where all live values are in registers.

use weft_compiler::Op;

use crate::call::CallOutcome;
use crate::error::{raise, Exc, VmResult};
use crate::object::{Class, Closure, Str};
use crate::ops::Arith;
use crate::rare_ops::Flow;
use crate::value::{copy_words, Handle, Value};
use crate::vm::{FnProto, FrameKind, Vm};

impl Vm {
    /// Delivers a thrown error to the innermost handler, or reports it uncaught.
    pub(crate) fn unwind(&mut self, exc: Exc) -> Result<(), Value> {
        let value = self.materialize(exc);
        let Some(handler) = self.handlers.pop() else {
            return Err(value);
        };
        self.frames.truncate(handler.depth);
        self.save_pc(handler.catch_pc);
        self.stack[handler.slot] = value;
        Ok(())
    }

    /// The loop proper: runs the current task until its body returns (`Some(value)`), its fuel runs
    /// out (`None`), or an exception is raised at the saved `pc` of the top frame (`Err`; a task
    /// that blocked raises `Exc::Block`).
    pub(crate) fn run_slice(&mut self, fuel: &mut u64) -> VmResult<Option<Value>> {
        // The loop counts fuel in a local of its own rather than through the caller's pointer,
        // which it had to reload and store around every call it makes. (Passing the fuel in and
        // out by value instead measured worse: callgrind, loop 3M, 735M -> 759M instructions.)
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
            // SAFETY: the frame's function is one of `Vm::protos`, which keeps every loaded
            // function, unmoved behind its `Rc`, for as long as the VM lives (the invariant on
            // that field; see `Frame::function`), and this loop holds the VM borrowed
            // throughout, so the reference outlives every use here even though the loop
            // mutates the VM. (It had been an `Rc` clone, dropped at every frame switch.)
            let mut proto: &FnProto = unsafe { &*frame.function };
            let mut consts: &[Value] = &proto.consts;
            let mut base = frame.base;
            // The next instruction, a pointer into the code as frames keep it, so the loop needs
            // neither the code's address nor an index to run, save or switch frames. (As an
            // index turned into a pointer here, callgrind: loop 471M -> 438M, fib 66.0M -> 65.2M,
            // calls 504M -> 496M; saved as a pointer too: see `Frame::ip`.) `pc!()` is the index
            // that handlers and the out-of-line instructions use.
            let mut ip: *const Op = frame.ip;
            macro_rules! pc {
                () => {
                    proto.pc_of(ip)
                };
            }
            macro_rules! set_pc {
                ($pc:expr) => {
                    ip = proto.ip_at($pc)
                };
            }
            macro_rules! jump {
                ($offset:expr) => {
                    ip = ip.wrapping_offset($offset as isize)
                };
            }
            // A plain script call (`push_plain_call`) switches to the frame it pushed by setting
            // the loop's state from the callee, not by reloading it from `frames` (callgrind:
            // fib 70.4M -> 66.0M, calls 520M -> 504M, binary_trees 726M -> 703M). Anything else
            // goes on after the macro.
            macro_rules! enter_plain_call {
                ($callee:expr, $slot:expr, $argc:expr) => {
                    let (callee, slot) = ($callee, $slot);
                    if let Some(function) =
                        self.push_plain_call(callee, slot, $argc as usize, FrameKind::Call)
                    {
                        // SAFETY: as for `proto` above: the callee is one of `Vm::protos`.
                        proto = unsafe { &*function };
                        consts = &proto.consts;
                        base = slot;
                        ip = proto.ip_at(0);
                        continue;
                    }
                };
            }
            // Each arm ends in `step!`: success goes straight on to the next instruction and an
            // error leaves the loop with it. (A `result` shared by all arms was kept in memory and
            // tested after every instruction.)
            macro_rules! step {
                ($result:expr) => {
                    match $result {
                        Ok(()) => continue,
                        Err(exc) => break exc,
                    }
                };
            }
            // Fuel is charged where a task can run on for long: a call, a loop's back edge, and
            // the out-of-line instructions. The code between two of those is bounded by the
            // length of a function, so nothing runs unbounded without paying, and the common
            // instructions skip the count (which the compiler kept in memory, as a
            // read-modify-write on every instruction: loop 30M, about 0.78 s -> 0.52 s, on a
            // machine too busy for a finer figure). `resume` is where the task goes on once
            // it has fuel again: the instruction that charges, which pays on the second try (so
            // how the host slices its fuel never changes what a unit buys).
            macro_rules! charge {
                ($resume:expr) => {
                    if *fuel == 0 {
                        self.save_ip($resume);
                        return Ok(None);
                    }
                    *fuel -= 1;
                };
            }
            // A plain call returning to a script frame, with no `try` of its own left open,
            // puts its result where the callee was (`$put`) and pops its frame here; the rest
            // goes through `return_from_frame` with the result's register (`$slot`, `None` for
            // nil).
            macro_rules! return_with {
                ($put:expr, $slot:expr) => {{
                    let depth = self.frames.len();
                    if depth >= 2
                        && self.frames[depth - 1].kind == FrameKind::Call
                        && self.handlers.last().is_none_or(|h| h.depth < depth)
                    {
                        $put;
                        self.frames.truncate(depth - 1);
                        continue 'frame;
                    }
                    match self.return_from_frame($slot) {
                        Some(done) => return Ok(Some(done)),
                        None => continue 'frame,
                    }
                }};
            }
            let exc: Exc = loop {
                debug_assert!(
                    pc!() < proto.proto.code.len(),
                    "pc {} outside the code",
                    pc!()
                );
                // SAFETY: `ip` stays on an instruction of `code`: it starts at 0 or at a saved
                // `pc` or handler target (each an instruction of this code), moves by one or by
                // a branch, and `load_proto` checked that every branch lands on an instruction
                // and that the code ends in an instruction that does not go on (`check_code`).
                // The instruction is read through a reference and each arm loads its own
                // operands: matching on a copy made the compiler decode the operand fields
                // of every variant before the jump, which kept four registers busy and pushed
                // `pc` and `base` onto the stack (callgrind: loop 657M -> 552M instructions,
                // fib 104M -> 94M, calls 713M -> 643M).
                let op = unsafe { &*ip };
                ip = ip.wrapping_add(1);
                match *op {
                    Op::Move { dst, src } => step!({
                        self.copy_reg(base + dst as usize, base + src as usize);
                        Ok(())
                    }),
                    Op::LoadNil { dst } => step!({
                        *self.reg_mut(base + dst as usize) = Value::Nil;
                        Ok(())
                    }),
                    Op::LoadBool { dst, value } => step!({
                        *self.reg_mut(base + dst as usize) = Value::Bool(value);
                        Ok(())
                    }),
                    Op::LoadInt { dst, value } => step!({
                        *self.reg_mut(base + dst as usize) = Value::Int(value as i64);
                        Ok(())
                    }),
                    Op::LoadConst { dst, idx } => step!({
                        *self.reg_mut(base + dst as usize) = consts[idx as usize];
                        Ok(())
                    }),
                    Op::GetGlobal { dst, slot } => step!({
                        let module = proto.module as usize;
                        match *self.global_slot(module, slot) {
                            Value::Undef => Err(self.undefined_global(module, slot)),
                            value => {
                                *self.reg_mut(base + dst as usize) = value;
                                Ok(())
                            }
                        }
                    }),
                    Op::SetGlobal { src, slot } => step!({
                        let module = proto.module as usize;
                        *self.global_slot(module, slot) = self.reg(base + src as usize);
                        Ok(())
                    }),
                    Op::AssignGlobal { src, slot } => step!({
                        let module = proto.module as usize;
                        match *self.global_slot(module, slot) {
                            Value::Undef => Err(self.undefined_global(module, slot)),
                            _ => {
                                *self.global_slot(module, slot) = self.reg(base + src as usize);
                                Ok(())
                            }
                        }
                    }),
                    Op::NewCell { dst, src } => step!({
                        let cell = self.heap.alloc_cell(self.reg(base + src as usize));
                        *self.reg_mut(base + dst as usize) = Value::Cell(cell);
                        Ok(())
                    }),
                    Op::GetCell { dst, cell } => step!({
                        if let Value::Cell(c) = self.reg(base + cell as usize) {
                            *self.reg_mut(base + dst as usize) = self.heap.cells.get(c).value;
                        }
                        Ok(())
                    }),
                    Op::SetCell { cell, src } => step!({
                        if let Value::Cell(c) = self.reg(base + cell as usize) {
                            self.heap.cells.get_mut(c).value = self.reg(base + src as usize);
                        }
                        Ok(())
                    }),
                    Op::GetUpval { dst, idx } => step!({
                        if let Some(c) = self.running_closure() {
                            let cell = self.heap.closures.get(c).upvals[idx as usize];
                            *self.reg_mut(base + dst as usize) = self.heap.cells.get(cell).value;
                        }
                        Ok(())
                    }),
                    Op::SetUpval { idx, src } => step!({
                        if let Some(c) = self.running_closure() {
                            let cell = self.heap.closures.get(c).upvals[idx as usize];
                            self.heap.cells.get_mut(cell).value = self.reg(base + src as usize);
                        }
                        Ok(())
                    }),
                    Op::Add { dst, lhs, rhs } => {
                        step!(self.binary_op(base, dst, lhs, rhs, Arith::Add))
                    }
                    Op::Sub { dst, lhs, rhs } => {
                        step!(self.binary_op(base, dst, lhs, rhs, Arith::Sub))
                    }
                    Op::Mul { dst, lhs, rhs } => {
                        step!(self.binary_op(base, dst, lhs, rhs, Arith::Mul))
                    }
                    Op::Div { dst, lhs, rhs } => {
                        step!(self.binary_op(base, dst, lhs, rhs, Arith::Div))
                    }
                    Op::FloorDiv { dst, lhs, rhs } => {
                        step!({ self.binary_op(base, dst, lhs, rhs, Arith::FloorDiv) })
                    }
                    Op::Mod { dst, lhs, rhs } => {
                        step!(self.binary_op(base, dst, lhs, rhs, Arith::Mod))
                    }
                    Op::Pow { dst, lhs, rhs } => {
                        step!(self.binary_op(base, dst, lhs, rhs, Arith::Pow))
                    }
                    Op::AddInt { dst, src, imm } => {
                        step!({ self.binary_imm(base, dst, src, imm, Arith::Add) })
                    }
                    Op::MulInt { dst, src, imm } => {
                        step!({ self.binary_imm(base, dst, src, imm, Arith::Mul) })
                    }
                    // A number in `0..2^32` by one of the function's divisors is divided by
                    // multiplication (`divisor.rs`); the rest take `div` in `binary_imm`.
                    Op::ModInt { dst, src, imm } => {
                        let x = self.int_at(base + src as usize);
                        if let Some(r) = x.and_then(|x| proto.divisors.rem(x, imm)) {
                            *self.reg_mut(base + dst as usize) = Value::Int(r);
                            continue;
                        }
                        step!({ self.binary_imm(base, dst, src, imm, Arith::Mod) })
                    }
                    Op::FloorDivInt { dst, src, imm } => {
                        let x = self.int_at(base + src as usize);
                        if let Some(q) = x.and_then(|x| proto.divisors.quot(x, imm)) {
                            *self.reg_mut(base + dst as usize) = Value::Int(q);
                            continue;
                        }
                        step!({ self.binary_imm(base, dst, src, imm, Arith::FloorDiv) })
                    }
                    Op::Neg { dst, src } => step!(self
                        .negate(self.reg(base + src as usize))
                        .map(|v| *self.reg_mut(base + dst as usize) = v)),
                    Op::Not { dst, src } => step!({
                        *self.reg_mut(base + dst as usize) =
                            Value::Bool(!self.reg(base + src as usize).truthy());
                        Ok(())
                    }),
                    Op::Eq { dst, lhs, rhs } => step!({
                        let eq = self.regs_equal(base, lhs, rhs);
                        *self.reg_mut(base + dst as usize) = Value::Bool(eq);
                        Ok(())
                    }),
                    Op::Ne { dst, lhs, rhs } => step!({
                        let eq = self.regs_equal(base, lhs, rhs);
                        *self.reg_mut(base + dst as usize) = Value::Bool(!eq);
                        Ok(())
                    }),
                    Op::Lt { dst, lhs, rhs } => {
                        step!(self.compare_op(base, dst, lhs, rhs, |o| o.is_lt()))
                    }
                    Op::Le { dst, lhs, rhs } => {
                        step!(self.compare_op(base, dst, lhs, rhs, |o| o.is_le()))
                    }
                    Op::Gt { dst, lhs, rhs } => {
                        step!(self.compare_op(base, dst, lhs, rhs, |o| o.is_gt()))
                    }
                    Op::Ge { dst, lhs, rhs } => {
                        step!(self.compare_op(base, dst, lhs, rhs, |o| o.is_ge()))
                    }
                    Op::Jump { offset } => step!({
                        if offset < 0 {
                            charge!(ip.wrapping_sub(1));
                        }
                        jump!(offset);
                        if offset < 0 && self.heap.wants_collection() {
                            self.save_ip(ip);
                            self.maybe_collect();
                        }
                        Ok(())
                    }),
                    Op::JumpIfFalse { cond, offset } => step!({
                        if !self.reg(base + cond as usize).truthy() {
                            jump!(offset);
                        }
                        Ok(())
                    }),
                    Op::JumpIfTrue { cond, offset } => step!({
                        if self.reg(base + cond as usize).truthy() {
                            jump!(offset);
                        }
                        Ok(())
                    }),
                    Op::JumpIfGiven { src, offset } => step!({
                        if !matches!(self.reg(base + src as usize), Value::Undef) {
                            jump!(offset);
                        }
                        Ok(())
                    }),
                    // The int case decides the branch here; the rest (and its errors) goes
                    // through `compare_values`. (A `Result` for both cases had been stored to
                    // memory and tested on every branch.)
                    Op::JumpIfNot {
                        cmp,
                        lhs,
                        rhs,
                        offset,
                    } => {
                        let holds = match (
                            self.int_at(base + lhs as usize),
                            self.int_at(base + rhs as usize),
                        ) {
                            (Some(a), Some(b)) => cmp.holds(a.cmp(&b)),
                            _ => match self.compare_values(
                                cmp,
                                self.reg(base + lhs as usize),
                                self.reg(base + rhs as usize),
                            ) {
                                Ok(holds) => holds,
                                Err(exc) => break exc,
                            },
                        };
                        if !holds {
                            jump!(offset);
                        }
                    }
                    Op::JumpIfNotImm {
                        cmp,
                        lhs,
                        imm,
                        offset,
                    } => {
                        let holds = match self.int_at(base + lhs as usize) {
                            Some(a) => cmp.holds(a.cmp(&(imm as i64))),
                            None => match self.compare_values(
                                cmp,
                                self.reg(base + lhs as usize),
                                Value::Int(imm as i64),
                            ) {
                                Ok(holds) => holds,
                                Err(exc) => break exc,
                            },
                        };
                        if !holds {
                            jump!(offset);
                        }
                    }
                    Op::JumpIfNotNil { src, offset } => step!({
                        if !matches!(self.reg(base + src as usize), Value::Nil) {
                            jump!(offset);
                        }
                        Ok(())
                    }),
                    Op::JumpIfNil { src, offset } => step!({
                        if matches!(self.reg(base + src as usize), Value::Nil) {
                            jump!(offset);
                        }
                        Ok(())
                    }),
                    // List literals stay inline: allocation-heavy code builds them in its inner
                    // loop, and the out-of-line entry costs a large prologue (perf,
                    // binary_trees: `rare_op` 7% of the samples, mostly `[left, right]`).
                    Op::NewList { dst, start, count } => step!({
                        let s = base + start as usize;
                        let list = self.heap.new_list_of(&self.stack[s..s + count as usize]);
                        *self.reg_mut(base + dst as usize) = Value::List(list);
                        Ok(())
                    }),
                    Op::GetField { dst, obj, name } => step!({
                        let name = name_const(consts, name);
                        let object = self.reg(base + obj as usize);
                        // A field an instance has is read here; methods, modules and the
                        // rest go through `get_field`. (With `instance_method` and `self` used
                        // in place: calls 1M, 0.94G -> 0.81G instructions.)
                        let field = match object {
                            Value::Instance(h) => self.heap.instances.get(h).field(name),
                            _ => None,
                        };
                        match field {
                            Some(value) => {
                                *self.reg_mut(base + dst as usize) = value;
                                Ok(())
                            }
                            None => self
                                .get_field(object, name)
                                .map(|v| *self.reg_mut(base + dst as usize) = v),
                        }
                    }),
                    Op::SetField { obj, name, src } => step!({
                        let name = name_const(consts, name);
                        let object = self.reg(base + obj as usize);
                        match object {
                            Value::Instance(h) => {
                                let from = self.stack.as_ptr().wrapping_add(base + src as usize);
                                let instance = self.heap.instances.get_mut(h);
                                match instance.field_mut(name) {
                                    // An existing field is written from the register word
                                    // by word (see `copy_words`; perf, calls: the 16-byte copy
                                    // had 9% of the samples).
                                    // SAFETY: `from` is a register of the running frame (in
                                    // bounds as for `reg`), and nothing but the heap was
                                    // touched since it was taken.
                                    Some(field) => unsafe { copy_words(from, field) },
                                    // SAFETY: as above.
                                    None => instance.set_field(name, unsafe { *from }),
                                }
                                Ok(())
                            }
                            _ => self.set_field(object, name, self.reg(base + src as usize)),
                        }
                    }),
                    Op::GetIndex { dst, obj, index } => step!(self.index_into(
                        base + dst as usize,
                        self.reg(base + obj as usize),
                        self.int_at(base + index as usize),
                        |vm| vm.stack[base + index as usize],
                    )),
                    Op::GetIndexInt { dst, obj, index } => step!(self.index_into(
                        base + dst as usize,
                        self.reg(base + obj as usize),
                        Some(index as i64),
                        |_| Value::Int(index as i64),
                    )),
                    Op::SetIndex { obj, index, src } => step!({
                        let (o, i, v) = (
                            self.reg(base + obj as usize),
                            self.reg(base + index as usize),
                            self.reg(base + src as usize),
                        );
                        self.set_index(o, i, v)
                    }),
                    Op::Call { func, argc } => step!({
                        charge!(ip.wrapping_sub(1));
                        self.save_ip(ip);
                        self.maybe_collect();
                        let slot = base + func as usize;
                        // Calls of script functions are inlined here; the rest (natives,
                        // classes, bound methods) go through `call_value`.
                        if let Value::Func(callee) = self.reg(slot) {
                            enter_plain_call!(callee, slot, argc);
                        }
                        let outcome = self.call_value(slot, argc as usize);
                        match outcome {
                            Ok(CallOutcome::Pushed) => continue 'frame,
                            Ok(CallOutcome::Done) => Ok(()),
                            Err(e) => Err(self.blocked_into(e, slot)),
                        }
                    }),
                    Op::CallMethod {
                        base: b,
                        name,
                        argc,
                    } => step!({
                        charge!(ip.wrapping_sub(1));
                        self.save_ip(ip);
                        self.maybe_collect();
                        let name = name_const(consts, name);
                        let slot = base + b as usize;
                        // A script method of an instance is called here; fields holding
                        // functions, natives and built-in types go through `call_method`.
                        let outcome = match self.instance_method(slot, name) {
                            Some(callee) => {
                                enter_plain_call!(callee, slot, argc);
                                self.call_method_value(Value::Func(callee), slot, argc as usize)
                            }
                            None => self.call_method(slot, name, argc as usize),
                        };
                        match outcome {
                            Ok(CallOutcome::Pushed) => continue 'frame,
                            Ok(CallOutcome::Done) => Ok(()),
                            Err(e) => Err(self.blocked_into(e, slot)),
                        }
                    }),
                    Op::Return { src } => {
                        let slot = base + src as usize;
                        return_with!(self.copy_reg(base, slot), Some(slot))
                    }
                    Op::ReturnNil => return_with!(*self.reg_mut(base) = Value::Nil, None),
                    Op::IterLoop { iter, dst, offset } => {
                        charge!(ip.wrapping_sub(1));
                        let slot = base + iter as usize;
                        // An int range (the state `IterInit` makes of one is the end and the
                        // index, both ints) is counted here, its values written straight into
                        // the registers; everything else goes through `iter_next`. (An
                        // `Option<Value>` for both had been stored to memory and read back with
                        // a 16-byte load that stalled: perf, loop: 30% of the samples.)
                        if let (Some(end), Some(i)) = (self.int_at(slot), self.int_at(slot + 1)) {
                            if i < end {
                                *self.reg_mut(slot + 1) = Value::Int(i + 1);
                                *self.reg_mut(base + dst as usize) = Value::Int(i);
                                jump!(offset);
                                if self.heap.wants_collection() {
                                    self.save_ip(ip);
                                    self.maybe_collect();
                                }
                            }
                            continue;
                        }
                        step!(match self.iter_next(slot) {
                            Some(value) => {
                                *self.reg_mut(base + dst as usize) = value;
                                jump!(offset);
                                if self.heap.wants_collection() {
                                    self.save_ip(ip);
                                    self.maybe_collect();
                                }
                                Ok(())
                            }
                            None => match self.reg(slot) {
                                // `for v in ch`: off the hot path, as channel state never
                                // holds the int index the other iterations use.
                                // When it blocks, the instruction runs again once woken and
                                // finds the received value in R[dst].
                                Value::Channel(ch) => {
                                    let mut at = pc!();
                                    let next = rerun_when_woken(
                                        self.channel_iter_next(ch, slot, base + dst as usize)
                                            .map_err(|e| self.blocked_into(e, base + dst as usize)),
                                        &mut at,
                                    );
                                    set_pc!(at);
                                    match next {
                                        Ok(Some(value)) => {
                                            *self.reg_mut(base + dst as usize) = value;
                                            jump!(offset);
                                            Ok(())
                                        }
                                        Ok(None) => Ok(()),
                                        Err(e) => Err(e),
                                    }
                                }
                                _ => Ok(()),
                            },
                        })
                    }
                    // Everything else runs out of line (`rare_ops.rs`), which keeps this
                    // loop small enough for its hot state to stay in registers. Named one by
                    // one rather than `_`, so the jump table covers every instruction and the
                    // dispatch needs no range check first.
                    Op::Closure { .. }
                    | Op::ListPush { .. }
                    | Op::ListExtend { .. }
                    | Op::NewMap { .. }
                    | Op::MapInsert { .. }
                    | Op::MapExtend { .. }
                    | Op::NewRange { .. }
                    | Op::CallEx { .. }
                    | Op::CallMethodEx { .. }
                    | Op::Throw { .. }
                    | Op::Rethrow { .. }
                    | Op::TryBegin { .. }
                    | Op::TryEnd
                    | Op::IterInit { .. }
                    | Op::TestList { .. }
                    | Op::CheckList { .. }
                    | Op::TestMapKey { .. }
                    | Op::SliceRest { .. }
                    | Op::Concat { .. }
                    | Op::Import { .. }
                    | Op::NewClass { .. }
                    | Op::Spawn { .. }
                    | Op::ScopeEnter { .. }
                    | Op::ScopeExit { .. }
                    | Op::SkipCancelled { .. }
                    | Op::ReceiveBegin { .. }
                    | Op::ReceiveNext { .. }
                    | Op::ReceiveTake { .. }
                    | Op::RethrowOver { .. }
                    | Op::Await { .. }
                    | Op::NoMatch { .. } => {
                        charge!(ip.wrapping_sub(1));
                        let (flow, next) = self.rare_op(*op, proto, base, pc!());
                        set_pc!(next);
                        match flow {
                            Ok(Flow::Next) => {}
                            Ok(Flow::Frame) => continue 'frame,
                            Err(e) => break e,
                        }
                    }
                }
            };
            // An instruction raised: the top frame's `pc` is saved for the trace and the handler.
            self.save_ip(ip);
            return Err(exc);
        }
    }

    /// `stack[slot] := object[index]`. A list with an int index (`int`) is read here; anything
    /// else goes through `get_index`, with the index value made by `index` only then.
    #[inline(always)]
    fn index_into(
        &mut self,
        slot: usize,
        object: Value,
        int: Option<i64>,
        index: impl FnOnce(&Vm) -> Value,
    ) -> VmResult<()> {
        // Written out rather than `usize::try_from(i).ok().and_then(|i| list.get(i))`: the
        // closure was left out of line (perf, binary_trees: 10% of the samples in it).
        let item = match (object, int) {
            (Value::List(l), Some(i)) => {
                let items: &[Value] = self.heap.lists.get(l);
                match usize::try_from(i) {
                    Ok(i) => items.get(i).copied(),
                    Err(_) => None,
                }
            }
            _ => None,
        };
        let value = match item {
            Some(value) => value,
            None => self.get_index(object, index(self))?,
        };
        *self.reg_mut(slot) = value;
        Ok(())
    }

    /// The script method `name` of the instance in `stack[slot]`, unless a field of that name
    /// shadows it or the receiver is something else.
    #[inline(always)]
    fn instance_method(&mut self, slot: usize, name: Handle<Str>) -> Option<Handle<Closure>> {
        let Value::Instance(h) = self.reg(slot) else {
            return None;
        };
        let instance = self.heap.instances.get(h);
        if instance.field(name).is_some() {
            return None;
        }
        let class = instance.class;
        if let Some(method) = self.heap.method_cache.get(class, name) {
            return Some(method);
        }
        self.class_method(class, name)
    }

    /// The script method `name` of `class`, looked up in its table and remembered in the
    /// method cache; out of line, as the cache usually answers.
    #[inline(never)]
    fn class_method(&mut self, class: Handle<Class>, name: Handle<Str>) -> Option<Handle<Closure>> {
        match self.heap.classes.get(class).methods.get(&name) {
            Some(&Value::Func(closure)) => {
                self.heap.method_cache.put(class, name, closure);
                Some(closure)
            }
            _ => None,
        }
    }

    /// `exc`, after noting that the result of the instruction goes to `stack[slot]` when it is
    /// `Exc::Block` (the waker delivers it there).
    #[inline]
    pub(crate) fn blocked_into(&mut self, exc: Exc, slot: usize) -> Exc {
        if matches!(exc, Exc::Block) {
            self.sched.block_slot = slot;
        }
        exc
    }

    /// The running frame's closure (`None` at a module's top level). The loop reads it from the
    /// frame where an instruction needs it rather than keeping it in a local of its own, which
    /// every frame switch had to set and the compiler kept in two stack slots.
    #[inline(always)]
    pub(crate) fn running_closure(&self) -> Option<Handle<Closure>> {
        self.frames.last().and_then(|frame| frame.closure)
    }

    /// Saves the running frame's next instruction, an index into its code.
    #[inline]
    pub(crate) fn save_pc(&mut self, pc: usize) {
        if let Some(frame) = self.frames.last_mut() {
            frame.ip = frame.function().ip_at(pc);
        }
    }

    /// Saves the running frame's next instruction, as the loop holds it.
    #[inline(always)]
    fn save_ip(&mut self, ip: *const Op) {
        if let Some(frame) = self.frames.last_mut() {
            frame.ip = ip;
        }
    }

    fn undefined_global(&self, module: usize, slot: u16) -> Exc {
        let name = &self.modules[module].scope.names[slot as usize];
        raise("NameError", format!("undefined variable '{name}'"))
    }

    /// Pops the top frame and delivers its result, `stack[slot]` or nil (`ReturnNil`); returns
    /// the program's result when it was the last. The result is read here rather than passed
    /// in: a `Value` argument went through a 16-byte stack copy on every return (perf, calls:
    /// 5.9% of the samples).
    fn return_from_frame(&mut self, slot: Option<usize>) -> Option<Value> {
        let frame = self.frames.pop().expect("returning frame");
        while self
            .handlers
            .last()
            .is_some_and(|h| h.depth > self.frames.len())
        {
            self.handlers.pop();
        }
        let result = match frame.kind {
            FrameKind::Call => slot.map_or(Value::Nil, |slot| self.stack[slot]),
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
    /// machine operation; everything else (floats, strings, errors) goes out of line. (With the
    /// immediate forms, `int_at` and the boxed `Exc`: loop 3M, 1.58G -> 0.89G instructions.)
    #[inline(always)]
    fn binary_op(&mut self, base: usize, dst: u8, lhs: u8, rhs: u8, op: Arith) -> VmResult<()> {
        if let (Some(x), Some(y)) = (
            self.int_at(base + lhs as usize),
            self.int_at(base + rhs as usize),
        ) {
            if let Some(v) = int_fast(op, x, y) {
                *self.reg_mut(base + dst as usize) = Value::Int(v);
                return Ok(());
            }
        }
        let (a, b) = (self.reg(base + lhs as usize), self.reg(base + rhs as usize));
        self.arith_into(base + dst as usize, op, a, b)
    }

    /// Register `stack[slot]` of the running frame, read without a bounds check.
    ///
    /// `slot` must be `base` plus a register named by the running instruction (for ranges such
    /// as `iter + 1`, one that `Op::max_register` counts). Then it is in bounds:
    /// - `load_proto` refuses code whose instructions name a register at or past the
    ///   function's `frame_size`;
    /// - a frame is only ever entered with `stack.len() >= base + frame_size` (`push_frame`
    ///   and `load_top_level` size the stack so);
    /// - the stack never shrinks while its frames exist: it is cleared only when a program
    ///   starts, and swapped only together with its frames (task switches).
    ///
    /// The debug build checks it on every access, so the test suite tests the invariant.
    /// (The bounds checks were a load of the length, a compare and a branch for every register
    /// an instruction touched; callgrind: loop 717M -> 657M instructions, fib 108M -> 104M,
    /// calls 737M -> 713M, binary_trees 1,027M -> 964M.)
    #[inline(always)]
    fn reg(&self, slot: usize) -> Value {
        debug_assert!(slot < self.stack.len(), "register {slot} outside the stack");
        // SAFETY: `slot` is in bounds by the invariant above.
        unsafe { *self.stack.get_unchecked(slot) }
    }

    /// Global `slot` of `module`, without bounds checks. `module` must be the running frame's
    /// and `slot` one its instruction names. Then both are in bounds:
    /// - modules and their globals only ever grow (`new_module`, `sync_globals`);
    /// - a frame's module is its function's (`FnProto::module`): frames have none of their own;
    /// - `check_code` checked every global slot of a function against its module's globals
    ///   when the function was loaded.
    ///
    /// The debug build checks both on every access. (callgrind: fib 65.2M -> 63.0M,
    /// binary_trees 698M -> 686M.)
    #[inline(always)]
    fn global_slot(&mut self, module: usize, slot: u16) -> &mut Value {
        debug_assert!(
            self.modules
                .get(module)
                .is_some_and(|m| (slot as usize) < m.globals.len()),
            "global {slot} of module {module} outside its globals"
        );
        // SAFETY: both in bounds by the invariant above.
        unsafe {
            self.modules
                .get_unchecked_mut(module)
                .globals
                .get_unchecked_mut(slot as usize)
        }
    }

    /// Register `stack[slot]` of the running frame, for writing; `slot` as for `reg`.
    #[inline(always)]
    fn reg_mut(&mut self, slot: usize) -> &mut Value {
        debug_assert!(slot < self.stack.len(), "register {slot} outside the stack");
        // SAFETY: `slot` is in bounds by the invariant on `reg`.
        unsafe { self.stack.get_unchecked_mut(slot) }
    }

    /// `stack[dst] := stack[src]` for two registers of the running frame (as for `reg`), by
    /// `copy_words`.
    #[inline(always)]
    fn copy_reg(&mut self, dst: usize, src: usize) {
        debug_assert!(
            dst.max(src) < self.stack.len(),
            "register outside the stack"
        );
        let words = self.stack.as_mut_ptr();
        // SAFETY: both registers are in bounds (the invariant on `reg`).
        unsafe { copy_words(words.add(src), words.add(dst)) }
    }

    /// The int in `stack[slot]`, read as a tag and a payload rather than as one 16-byte value:
    /// the previous instruction usually wrote that register with two 8-byte stores, and a
    /// 16-byte load of it cannot be forwarded from them, which stalls the CPU for about a dozen
    /// cycles (perf on the loop benchmark: 28% of the samples sat on such loads).
    #[inline(always)]
    fn int_at(&self, slot: usize) -> Option<i64> {
        debug_assert!(slot < self.stack.len(), "register {slot} outside the stack");
        // SAFETY: `slot` is a register of the running frame, in bounds as for `reg`.
        match unsafe { self.stack.get_unchecked(slot) } {
            Value::Int(x) => Some(*x),
            _ => None,
        }
    }

    /// `R[dst] := R[src] op imm` (an int literal on the right).
    #[inline(always)]
    fn binary_imm(&mut self, base: usize, dst: u8, src: u8, imm: i32, op: Arith) -> VmResult<()> {
        if let Some(x) = self.int_at(base + src as usize) {
            if let Some(v) = int_fast(op, x, imm as i64) {
                *self.reg_mut(base + dst as usize) = Value::Int(v);
                return Ok(());
            }
        }
        let a = self.reg(base + src as usize);
        // `x - n` is compiled as `AddInt -n`; an error message names the operator written.
        let (op, imm) = match op {
            Arith::Add if imm < 0 => (Arith::Sub, -(imm as i64)),
            _ => (op, imm as i64),
        };
        self.arith_into(base + dst as usize, op, a, Value::Int(imm))
    }

    /// The general case of an arithmetic instruction, out of line so the dispatch loop stays
    /// small: floats first (common and cheap), then `arith` with its errors.
    #[cold]
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

    /// `R[lhs] == R[rhs]`, ints compared here and everything else by `equal`.
    #[inline(always)]
    fn regs_equal(&self, base: usize, lhs: u8, rhs: u8) -> bool {
        match (self.reg(base + lhs as usize), self.reg(base + rhs as usize)) {
            (Value::Int(a), Value::Int(b)) => a == b,
            (a, b) => self.equal(a, b),
        }
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
        let (a, b) = (self.reg(base + lhs as usize), self.reg(base + rhs as usize));
        let result = match (a, b) {
            (Value::Int(x), Value::Int(y)) => test(x.cmp(&y)),
            _ => self.compare(a, b)?.is_some_and(test),
        };
        *self.reg_mut(base + dst as usize) = Value::Bool(result);
        Ok(())
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
#[inline(always)]
pub(crate) fn rerun_when_woken<T>(result: VmResult<T>, pc: &mut usize) -> VmResult<T> {
    if let Err(Exc::Block) = result {
        *pc -= 1;
    }
    result
}

/// The interned string constant `K[idx]` naming a field, method, module or class. The compiler only
/// emits string constants for these operands, so anything else is a compiler bug.
#[inline]
pub(crate) fn name_const(consts: &[Value], idx: u16) -> crate::value::Handle<crate::object::Str> {
    match consts[idx as usize] {
        Value::Str(name) => name,
        other => unreachable!("name operand is not a string constant: {other:?}"),
    }
}
