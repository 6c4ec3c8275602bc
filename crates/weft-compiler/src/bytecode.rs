//! The instruction set: one `Op` enum with named operands, in register notation.
//!
//! Weft's bytecode is register based (as Lua 5): every function frame owns a window of registers
//! `R[0..n]` on its task's value stack. `R[0]` holds the callee itself (or `self` in a method) and the
//! parameters follow in `R[1..]`. Calls place the callee and arguments in consecutive registers
//! `R[func], R[func+1]..` and leave the result in `R[func]`, so a call never copies arguments.
//! Jump offsets are relative to the instruction *after* the jump.

use std::fmt;

/// A register index inside the current frame.
pub type Reg = u8;
/// An index into the function's constant table.
pub type ConstIdx = u16;

/// The comparison of a fused compare-and-branch instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Cmp {
    /// Whether the comparison holds for an ordering: bit `ordering + 1` of a mask (less, equal,
    /// greater), so the int case of every comparison is one compare and a shift, no branch.
    #[inline(always)]
    pub fn holds(self, ordering: std::cmp::Ordering) -> bool {
        let mask: u8 = match self {
            Cmp::Lt => 0b001,
            Cmp::Le => 0b011,
            Cmp::Gt => 0b100,
            Cmp::Ge => 0b110,
            Cmp::Eq => 0b010,
            Cmp::Ne => 0b101,
        };
        (mask >> (ordering as i8 + 1)) & 1 != 0
    }

    /// `==` or `!=`, which compare any two values; the others order numbers and strings.
    pub fn is_equality(self) -> bool {
        matches!(self, Cmp::Eq | Cmp::Ne)
    }
}

/// One instruction. Each variant's doc gives its meaning in register notation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    /// `R[dst] := R[src]`
    Move { dst: Reg, src: Reg },
    /// `R[dst] := nil`
    LoadNil { dst: Reg },
    /// `R[dst] := value`
    LoadBool { dst: Reg, value: bool },
    /// `R[dst] := value` (a small integer immediate)
    LoadInt { dst: Reg, value: i32 },
    /// `R[dst] := K[idx]`
    LoadConst { dst: Reg, idx: ConstIdx },
    /// `R[dst] := G[slot]` in the current module; raises NameError when undefined.
    GetGlobal { dst: Reg, slot: u16 },
    /// `G[slot] := R[src]` in the current module.
    SetGlobal { src: Reg, slot: u16 },
    /// `G[slot] := R[src]` but raises NameError when `G[slot]` was never defined (assignment to a global).
    AssignGlobal { src: Reg, slot: u16 },
    /// `R[dst] := new cell holding R[src]` (a captured variable lives in a cell).
    NewCell { dst: Reg, src: Reg },
    /// `R[dst] := R[cell].value`
    GetCell { dst: Reg, cell: Reg },
    /// `R[cell].value := R[src]`
    SetCell { cell: Reg, src: Reg },
    /// `R[dst] := Upvalues[idx].value` of the running closure.
    GetUpval { dst: Reg, idx: u8 },
    /// `Upvalues[idx].value := R[src]`
    SetUpval { idx: u8, src: Reg },
    /// `R[dst] := closure of Protos[proto]`, capturing cells as listed in that proto's captures.
    Closure { dst: Reg, proto: u16 },
    /// `R[dst] := R[lhs] + R[rhs]`
    Add { dst: Reg, lhs: Reg, rhs: Reg },
    /// `R[dst] := R[lhs] - R[rhs]`
    Sub { dst: Reg, lhs: Reg, rhs: Reg },
    /// `R[dst] := R[lhs] * R[rhs]`
    Mul { dst: Reg, lhs: Reg, rhs: Reg },
    /// `R[dst] := R[lhs] / R[rhs]` (float division)
    Div { dst: Reg, lhs: Reg, rhs: Reg },
    /// `R[dst] := R[lhs] // R[rhs]` (floored)
    FloorDiv { dst: Reg, lhs: Reg, rhs: Reg },
    /// `R[dst] := R[lhs] % R[rhs]` (floored, sign of the divisor)
    Mod { dst: Reg, lhs: Reg, rhs: Reg },
    /// `R[dst] := R[lhs] ** R[rhs]`
    Pow { dst: Reg, lhs: Reg, rhs: Reg },
    /// `R[dst] := R[src] + imm` (an int literal operand; `x - 1` is `AddInt imm=-1`)
    AddInt { dst: Reg, src: Reg, imm: i32 },
    /// `R[dst] := R[src] * imm`
    MulInt { dst: Reg, src: Reg, imm: i32 },
    /// `R[dst] := R[src] % imm` (`imm` is not 0)
    ModInt { dst: Reg, src: Reg, imm: i32 },
    /// `R[dst] := R[src] // imm` (`imm` is not 0)
    FloorDivInt { dst: Reg, src: Reg, imm: i32 },
    /// `R[dst] := -R[src]`
    Neg { dst: Reg, src: Reg },
    /// `R[dst] := not truthy(R[src])`
    Not { dst: Reg, src: Reg },
    /// `R[dst] := R[lhs] == R[rhs]`
    Eq { dst: Reg, lhs: Reg, rhs: Reg },
    /// `R[dst] := R[lhs] != R[rhs]`
    Ne { dst: Reg, lhs: Reg, rhs: Reg },
    /// `R[dst] := R[lhs] < R[rhs]`
    Lt { dst: Reg, lhs: Reg, rhs: Reg },
    /// `R[dst] := R[lhs] <= R[rhs]`
    Le { dst: Reg, lhs: Reg, rhs: Reg },
    /// `R[dst] := R[lhs] > R[rhs]`
    Gt { dst: Reg, lhs: Reg, rhs: Reg },
    /// `R[dst] := R[lhs] >= R[rhs]`
    Ge { dst: Reg, lhs: Reg, rhs: Reg },
    /// `pc += offset`
    Jump { offset: i32 },
    /// `if not truthy(R[cond]) { pc += offset }`
    JumpIfFalse { cond: Reg, offset: i32 },
    /// `if truthy(R[cond]) { pc += offset }`
    JumpIfTrue { cond: Reg, offset: i32 },
    /// `if R[src] is not the internal "argument missing" marker { pc += offset }` (default parameters)
    JumpIfGiven { src: Reg, offset: i32 },
    /// `if not (R[lhs] cmp R[rhs]) { pc += offset }`: a comparison that is an `if` or `while`
    /// condition, fused with its branch.
    JumpIfNot {
        cmp: Cmp,
        lhs: Reg,
        rhs: Reg,
        offset: i32,
    },
    /// `if not (R[lhs] cmp imm) { pc += offset }`: the same with a small int literal on the right.
    JumpIfNotImm {
        cmp: Cmp,
        lhs: Reg,
        imm: i8,
        offset: i32,
    },
    /// `if R[src] is not nil { pc += offset }` (the condition `x == nil`)
    JumpIfNotNil { src: Reg, offset: i32 },
    /// `if R[src] is nil { pc += offset }` (the condition `x != nil`)
    JumpIfNil { src: Reg, offset: i32 },
    /// `R[dst] := [R[start], .., R[start+count-1]]`
    NewList { dst: Reg, start: Reg, count: u8 },
    /// `R[list].push(R[src])`
    ListPush { list: Reg, src: Reg },
    /// `R[list].extend(iterate(R[src]))` (list spread)
    ListExtend { list: Reg, src: Reg },
    /// `R[dst] := {}`
    NewMap { dst: Reg },
    /// `R[map][R[key]] := R[value]`
    MapInsert { map: Reg, key: Reg, value: Reg },
    /// `for (k, v) in R[src] { R[map][k] := v }` (map spread)
    MapExtend { map: Reg, src: Reg },
    /// `R[dst] := range(R[dst], R[dst+1], inclusive)`; a nil bound is open.
    NewRange { dst: Reg, inclusive: bool },
    /// `R[dst] := R[obj].K[name]` (field, module member or bound method)
    GetField { dst: Reg, obj: Reg, name: ConstIdx },
    /// `R[obj].K[name] := R[src]`
    SetField { obj: Reg, name: ConstIdx, src: Reg },
    /// `R[dst] := R[obj][R[index]]` (a range index slices)
    GetIndex { dst: Reg, obj: Reg, index: Reg },
    /// `R[dst] := R[obj][index]` with a small int literal index (`pair[0]`)
    GetIndexInt { dst: Reg, obj: Reg, index: u8 },
    /// `R[obj][R[index]] := R[src]`
    SetIndex { obj: Reg, index: Reg, src: Reg },
    /// `R[func] := R[func](R[func+1], .., R[func+argc])`
    Call { func: Reg, argc: u8 },
    /// `R[base] := R[base].K[name](R[base+1], .., R[base+argc])` with `self = R[base]`
    CallMethod { base: Reg, name: ConstIdx, argc: u8 },
    /// `R[func] := R[func](..R[func+1], named: R[func+2])`: positional list and a map of named
    /// arguments (or nil). Used for spread and named arguments.
    CallEx { func: Reg },
    /// As `CallEx` for a method: `R[base] := R[base].K[name](..R[base+1], named: R[base+2])`.
    CallMethodEx { base: Reg, name: ConstIdx },
    /// Return `R[src]` to the caller.
    Return { src: Reg },
    /// Return nil to the caller: `LoadNil` and `Return` in one, the end of every function whose
    /// body ends in a statement (a method that only updates its object).
    ReturnNil,
    /// `throw R[src]` (records the trace when the value is an error without one)
    Throw { src: Reg },
    /// Rethrow `R[src]` unchanged (after no catch clause matched).
    Rethrow { src: Reg },
    /// Push a handler: a throw until the matching `TryEnd` jumps to `pc + offset` with the value in `R[err]`.
    TryBegin { err: Reg, offset: i32 },
    /// Pop the innermost handler of this frame.
    TryEnd,
    /// `R[iter], R[iter+1] := iteration state for R[src]` (lists, maps give keys, ranges, strings give chars)
    IterInit { iter: Reg, src: Reg },
    /// `R[dst] := next(R[iter], R[iter+1])` and `pc += offset` (back to the loop body); when
    /// exhausted, go on to the next instruction.
    IterLoop { iter: Reg, dst: Reg, offset: i32 },
    /// `if not (R[src] is a list with len == count, or >= count when rest) { pc += offset }` (match patterns)
    TestList {
        src: Reg,
        count: u8,
        rest: bool,
        offset: i32,
    },
    /// As `TestList` but raises TypeError/ValueError instead of jumping (destructuring `let`).
    CheckList { src: Reg, count: u8, rest: bool },
    /// `if not (R[src] is a map containing key K[key]) { pc += offset }` (match patterns)
    TestMapKey {
        src: Reg,
        key: ConstIdx,
        offset: i32,
    },
    /// `R[dst] := R[src][from .. len - from_end]` as a new list (rest patterns)
    SliceRest {
        dst: Reg,
        src: Reg,
        from: u8,
        from_end: u8,
    },
    /// `R[dst] := str(R[start]) + .. + str(R[start+count-1])` (string interpolation)
    Concat { dst: Reg, start: Reg, count: u8 },
    /// `R[dst] := the module K[name]` (standard module by name, or a file module by path).
    Import { dst: Reg, name: ConstIdx },
    /// `R[dst] := class named K[name]` with methods taken from the closures `R[dst+1 ..= dst+count]`.
    NewClass { dst: Reg, name: ConstIdx, count: u8 },
    /// `R[func] := a task running R[func](R[func+1 ..= func+argc])`; `kind` 0 child, 1 detached,
    /// 2 linked.
    Spawn { func: Reg, argc: u8, kind: u8 },
    /// `R[dst] := a new scope` pushed on the task's scope stack; `kind` 0 scope, 1 supervisor, 2 shield.
    ScopeEnter { dst: Reg, kind: u8 },
    /// Close scope `R[scope]` whose body produced `R[dst]` (or failed with it, when `failed`):
    /// wait for its children (blocking), then `R[dst] := its result`, or throw its error.
    ScopeExit { dst: Reg, scope: Reg, failed: bool },
    /// `if R[src] is a Cancelled error { pc += offset }` (a bare `catch` does not catch it).
    SkipCancelled { src: Reg, offset: i32 },
    /// Start a `receive`: `R[base]` := 0 (the mailbox cursor); `R[base+1]` := the deadline from the
    /// timeout in `R[base+1]` when `has_after`, else nil; `R[base+2]` := false (timed out).
    ReceiveBegin { base: Reg, has_after: bool },
    /// `R[dst]` := the mailbox message at cursor `R[base]`; when there is none, wait for one (a
    /// checkpoint), or `pc += offset` once the deadline has passed.
    ReceiveNext { base: Reg, dst: Reg, offset: i32 },
    /// Remove the message at cursor `R[base]` from the mailbox (its clause matched).
    ReceiveTake { base: Reg },
    /// Rethrow `R[src]`, unless it is `Cancelled`: then rethrow `R[over]`, the error that was
    /// already propagating through the `finally` that raised it.
    RethrowOver { src: Reg, over: Reg },
    /// `R[dst] := await R[src]`
    Await { dst: Reg, src: Reg },
    /// Raise ValueError `no match arm matched R[src]`.
    NoMatch { src: Reg },
}

impl Op {
    /// The highest register this instruction reads or writes, counting the register ranges of
    /// calls, list literals and iteration state; `None` when it touches none. The VM checks it
    /// against each function's register count when it loads the code, which is what lets the
    /// interpreter read registers without a bounds check (`weft-vm`'s `interp.rs`). The match is
    /// exhaustive on purpose: a new instruction must say which registers it uses.
    pub fn max_register(&self) -> Option<usize> {
        let r = |reg: Reg| reg as usize;
        let highest = match *self {
            Op::Move { dst, src }
            | Op::NewCell { dst, src }
            | Op::Neg { dst, src }
            | Op::Not { dst, src }
            | Op::Await { dst, src }
            | Op::AddInt { dst, src, .. }
            | Op::MulInt { dst, src, .. }
            | Op::ModInt { dst, src, .. }
            | Op::FloorDivInt { dst, src, .. }
            | Op::SliceRest { dst, src, .. } => r(dst).max(r(src)),
            Op::LoadNil { dst }
            | Op::LoadBool { dst, .. }
            | Op::LoadInt { dst, .. }
            | Op::LoadConst { dst, .. }
            | Op::GetGlobal { dst, .. }
            | Op::GetUpval { dst, .. }
            | Op::Closure { dst, .. }
            | Op::NewMap { dst }
            | Op::Import { dst, .. } => r(dst),
            Op::SetGlobal { src, .. }
            | Op::AssignGlobal { src, .. }
            | Op::SetUpval { src, .. }
            | Op::Return { src }
            | Op::Throw { src }
            | Op::Rethrow { src }
            | Op::JumpIfGiven { src, .. }
            | Op::JumpIfNotNil { src, .. }
            | Op::JumpIfNil { src, .. }
            | Op::SkipCancelled { src, .. }
            | Op::NoMatch { src }
            | Op::TestList { src, .. }
            | Op::CheckList { src, .. }
            | Op::TestMapKey { src, .. } => r(src),
            // The result goes where the callee was, `R[0]`.
            Op::ReturnNil => 0,
            Op::GetCell { dst, cell } => r(dst).max(r(cell)),
            Op::SetCell { cell, src } => r(cell).max(r(src)),
            Op::Add { dst, lhs, rhs }
            | Op::Sub { dst, lhs, rhs }
            | Op::Mul { dst, lhs, rhs }
            | Op::Div { dst, lhs, rhs }
            | Op::FloorDiv { dst, lhs, rhs }
            | Op::Mod { dst, lhs, rhs }
            | Op::Pow { dst, lhs, rhs }
            | Op::Eq { dst, lhs, rhs }
            | Op::Ne { dst, lhs, rhs }
            | Op::Lt { dst, lhs, rhs }
            | Op::Le { dst, lhs, rhs }
            | Op::Gt { dst, lhs, rhs }
            | Op::Ge { dst, lhs, rhs } => r(dst).max(r(lhs)).max(r(rhs)),
            Op::Jump { .. } | Op::TryEnd => return None,
            Op::JumpIfFalse { cond, .. } | Op::JumpIfTrue { cond, .. } => r(cond),
            Op::JumpIfNot { lhs, rhs, .. } => r(lhs).max(r(rhs)),
            Op::JumpIfNotImm { lhs, .. } => r(lhs),
            // An empty list literal names its start register without reading it.
            Op::NewList { dst, start, count } => r(dst).max(r(start) + (count as usize).max(1) - 1),
            Op::ListPush { list, src } | Op::ListExtend { list, src } => r(list).max(r(src)),
            Op::MapInsert { map, key, value } => r(map).max(r(key)).max(r(value)),
            Op::MapExtend { map, src } => r(map).max(r(src)),
            Op::NewRange { dst, .. } => r(dst) + 1,
            Op::GetField { dst, obj, .. } | Op::GetIndexInt { dst, obj, .. } => r(dst).max(r(obj)),
            Op::SetField { obj, src, .. } => r(obj).max(r(src)),
            Op::GetIndex { dst, obj, index } => r(dst).max(r(obj)).max(r(index)),
            Op::SetIndex { obj, index, src } => r(obj).max(r(index)).max(r(src)),
            Op::Call { func, argc } | Op::Spawn { func, argc, .. } => r(func) + argc as usize,
            Op::CallMethod { base, argc, .. } => r(base) + argc as usize,
            Op::CallEx { func } => r(func) + 2,
            Op::CallMethodEx { base, .. } => r(base) + 2,
            Op::TryBegin { err, .. } => r(err),
            Op::IterInit { iter, src } => (r(iter) + 1).max(r(src)),
            Op::IterLoop { iter, dst, .. } => (r(iter) + 1).max(r(dst)),
            Op::Concat { dst, start, count } => r(dst).max(r(start) + (count as usize).max(1) - 1),
            Op::NewClass { dst, count, .. } => r(dst) + count as usize,
            Op::ScopeEnter { dst, .. } => r(dst),
            Op::ScopeExit { dst, scope, .. } => r(dst).max(r(scope)),
            Op::ReceiveBegin { base, .. } => r(base) + 2,
            Op::ReceiveNext { base, dst, .. } => (r(base) + 2).max(r(dst)),
            Op::ReceiveTake { base } => r(base) + 2,
            Op::RethrowOver { src, over } => r(src).max(r(over)),
        };
        Some(highest)
    }

    /// The jump offset of an instruction that can branch (relative to the next instruction),
    /// or `None`. Exhaustive, as `max_register`: the VM checks every branch target when it
    /// loads the code, which lets the interpreter fetch instructions without a bounds check.
    pub fn branch_offset(&self) -> Option<i32> {
        match *self {
            Op::Jump { offset }
            | Op::JumpIfFalse { offset, .. }
            | Op::JumpIfTrue { offset, .. }
            | Op::JumpIfGiven { offset, .. }
            | Op::JumpIfNot { offset, .. }
            | Op::JumpIfNotImm { offset, .. }
            | Op::JumpIfNotNil { offset, .. }
            | Op::JumpIfNil { offset, .. }
            | Op::TryBegin { offset, .. }
            | Op::IterLoop { offset, .. }
            | Op::TestList { offset, .. }
            | Op::TestMapKey { offset, .. }
            | Op::SkipCancelled { offset, .. }
            | Op::ReceiveNext { offset, .. } => Some(offset),
            Op::Move { .. }
            | Op::LoadNil { .. }
            | Op::LoadBool { .. }
            | Op::LoadInt { .. }
            | Op::LoadConst { .. }
            | Op::GetGlobal { .. }
            | Op::SetGlobal { .. }
            | Op::AssignGlobal { .. }
            | Op::NewCell { .. }
            | Op::GetCell { .. }
            | Op::SetCell { .. }
            | Op::GetUpval { .. }
            | Op::SetUpval { .. }
            | Op::Closure { .. }
            | Op::Add { .. }
            | Op::Sub { .. }
            | Op::Mul { .. }
            | Op::Div { .. }
            | Op::FloorDiv { .. }
            | Op::Mod { .. }
            | Op::Pow { .. }
            | Op::AddInt { .. }
            | Op::MulInt { .. }
            | Op::ModInt { .. }
            | Op::FloorDivInt { .. }
            | Op::Neg { .. }
            | Op::Not { .. }
            | Op::Eq { .. }
            | Op::Ne { .. }
            | Op::Lt { .. }
            | Op::Le { .. }
            | Op::Gt { .. }
            | Op::Ge { .. }
            | Op::NewList { .. }
            | Op::ListPush { .. }
            | Op::ListExtend { .. }
            | Op::NewMap { .. }
            | Op::MapInsert { .. }
            | Op::MapExtend { .. }
            | Op::NewRange { .. }
            | Op::GetField { .. }
            | Op::SetField { .. }
            | Op::GetIndex { .. }
            | Op::GetIndexInt { .. }
            | Op::SetIndex { .. }
            | Op::Call { .. }
            | Op::CallMethod { .. }
            | Op::CallEx { .. }
            | Op::CallMethodEx { .. }
            | Op::Return { .. }
            | Op::ReturnNil
            | Op::Throw { .. }
            | Op::Rethrow { .. }
            | Op::TryEnd
            | Op::IterInit { .. }
            | Op::CheckList { .. }
            | Op::SliceRest { .. }
            | Op::Concat { .. }
            | Op::Import { .. }
            | Op::NewClass { .. }
            | Op::Spawn { .. }
            | Op::ScopeEnter { .. }
            | Op::ScopeExit { .. }
            | Op::ReceiveBegin { .. }
            | Op::ReceiveTake { .. }
            | Op::RethrowOver { .. }
            | Op::Await { .. }
            | Op::NoMatch { .. } => None,
        }
    }

    /// Whether execution never goes on to the next instruction (a function's code ends in one).
    pub fn ends_flow(&self) -> bool {
        matches!(
            self,
            Op::Return { .. }
                | Op::ReturnNil
                | Op::Jump { .. }
                | Op::Throw { .. }
                | Op::Rethrow { .. }
                | Op::RethrowOver { .. }
                | Op::NoMatch { .. }
        )
    }
}

impl fmt::Display for Op {
    /// Disassembly form: the variant's Debug form without the braces noise, e.g. `Add dst=1 lhs=2 rhs=3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let debug = format!("{self:?}");
        let text = debug
            .replace(" { ", " ")
            .replace(" }", "")
            .replace(": ", "=")
            .replace(", ", " ");
        f.write_str(&text)
    }
}
