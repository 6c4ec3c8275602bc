//! The calling convention: binding arguments to parameters and pushing frames.
//!
//! A call finds the callee in `stack[slot]` and its positional arguments in `stack[slot+1..]`. A
//! closure gets a new frame whose `R[0]` is `stack[slot]`, so arguments are never copied; natives get
//! the arguments as a slice and their result is stored back in `stack[slot]`.

use std::rc::Rc;

use weft_compiler::Op;

use crate::error::{raise, type_error, Exc, VmResult};
use crate::object::{Closure, Instance};
use crate::scope::SpawnKind;
use crate::value::{copy_value, Handle, Value};
use crate::vm::{FnProto, Frame, FrameKind, NativeCode, TypeTag, Vm};

/// Whether a call pushed a frame (the interpreter must switch to it) or finished at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// A new frame is on top.
    Pushed,
    /// The result is already in `stack[slot]`.
    Done,
}

impl Vm {
    /// Makes sure the stack has room for `n` registers from `base`.
    #[inline(always)]
    pub(crate) fn ensure_stack(&mut self, base: usize, n: usize) {
        let need = base + n;
        if self.stack.len() < need {
            self.grow_stack(need);
        }
    }

    #[cold]
    #[inline(never)]
    fn grow_stack(&mut self, need: usize) {
        self.stack
            .resize(need.max(self.stack.len() * 2), Value::Nil);
    }

    /// Calls `stack[slot]` with `argc` positional arguments.
    pub(crate) fn call_value(&mut self, slot: usize, argc: usize) -> VmResult<CallOutcome> {
        match self.stack[slot] {
            Value::Func(closure) => self.call_closure(closure, slot, argc, FrameKind::Call),
            Value::Native(id) => self.call_native(id, slot + 1..slot + 1 + argc, slot),
            Value::Bound(bound) => {
                let bound = self.heap.bounds.get(bound);
                let (receiver, method) = (bound.receiver, bound.method);
                self.stack[slot] = receiver;
                self.call_method_value(method, slot, argc)
            }
            Value::Class(class) => {
                let init = self.instantiate(class, slot);
                match init {
                    Some(Value::Func(closure)) => {
                        self.call_closure(closure, slot, argc, FrameKind::Init)
                    }
                    _ if argc > 0 => {
                        let name = self.heap.classes.get(class).name.clone();
                        Err(type_error(format!(
                            "{name}() takes 0 arguments but {argc} were given"
                        )))
                    }
                    _ => Ok(CallOutcome::Done),
                }
            }
            other => Err(type_error(format!(
                "{} is not callable",
                self.type_name(other)
            ))),
        }
    }

    /// Calls native `id` with the registers `args` as its arguments; the result goes to
    /// `stack[slot]`. The arguments are copied out of the stack (a native gets `&mut Vm`, so it
    /// cannot borrow the stack): into an array for a few, else into a reused buffer, so no call
    /// allocates (the buffer measured: ring, 8% faster; the array: strings 156M -> 154M
    /// instructions).
    #[inline]
    fn call_native(
        &mut self,
        id: crate::value::NativeId,
        args: std::ops::Range<usize>,
        slot: usize,
    ) -> VmResult<CallOutcome> {
        // Up to `INLINE` arguments (nearly every call) go in an array on the Rust stack, copied
        // one by one: the buffer's take, `memcpy` and put-back cost about 25 instructions more a
        // call (callgrind, strings: `str(i)` and `parts.push(..)` are two native calls an item).
        const INLINE: usize = 4;
        let result = if args.len() <= INLINE {
            let mut inline = [Value::Nil; INLINE];
            for (to, from) in inline.iter_mut().zip(&self.stack[args.clone()]) {
                *to = *from;
            }
            self.run_native(id, &inline[..args.len()])
        } else {
            let mut buffer = std::mem::take(&mut self.native_args);
            buffer.clear();
            buffer.extend_from_slice(&self.stack[args]);
            let result = self.run_native(id, &buffer);
            self.native_args = buffer;
            result
        };
        // The result came back through memory, where the native wrote it as two words; a
        // 16-byte copy of it stalled (perf, strings: 49% of `call_native`'s samples).
        copy_value(&result?, &mut self.stack[slot]);
        Ok(CallOutcome::Done)
    }

    /// Runs native `id` on `args`.
    #[inline(always)]
    fn run_native(&mut self, id: crate::value::NativeId, args: &[Value]) -> VmResult<Value> {
        match &self.natives[id as usize].code {
            NativeCode::Fn(func) => func(self, args),
            NativeCode::Closure(func) => {
                let func = func.clone();
                func(self, args)
            }
        }
    }

    /// Puts a new instance of `class` in `stack[slot]` (where it becomes `self`) and returns the
    /// class's `init` method, if it has one.
    fn instantiate(&mut self, class: Handle<crate::object::Class>, slot: usize) -> Option<Value> {
        let instance = self.heap.alloc_instance(Instance {
            class,
            fields: Vec::new(),
        });
        self.stack[slot] = instance;
        self.heap
            .classes
            .get(class)
            .methods
            .get(&self.init_name)
            .copied()
    }

    /// Calls `method` with `stack[slot]` as `self` and `argc` arguments after it.
    pub(crate) fn call_method_value(
        &mut self,
        method: Value,
        slot: usize,
        argc: usize,
    ) -> VmResult<CallOutcome> {
        match method {
            Value::Func(closure) => self.call_closure(closure, slot, argc, FrameKind::Call),
            Value::Native(id) => self.call_native(id, slot..slot + 1 + argc, slot),
            other => {
                self.stack[slot] = other;
                self.call_value(slot, argc)
            }
        }
    }

    /// `stack[slot].name(args)`: fields holding functions, class methods, module members and the
    /// methods of built-in types.
    pub(crate) fn call_method(
        &mut self,
        slot: usize,
        name: Handle<crate::object::Str>,
        argc: usize,
    ) -> VmResult<CallOutcome> {
        let receiver = self.stack[slot];
        match receiver {
            Value::Instance(h) => {
                let instance = self.heap.instances.get(h);
                if let Some(field) = instance.field(name) {
                    self.stack[slot] = field;
                    return self.call_value(slot, argc);
                }
                let method = self
                    .heap
                    .classes
                    .get(instance.class)
                    .methods
                    .get(&name)
                    .copied();
                match method {
                    Some(method) => self.call_method_value(method, slot, argc),
                    None => Err(self.no_attribute(receiver, name)),
                }
            }
            Value::Module(id) => {
                let member = self.module_member(id, name)?;
                self.stack[slot] = member;
                self.call_value(slot, argc)
            }
            _ => {
                let Some(tag) = type_tag(receiver) else {
                    return Err(self.no_method(receiver, name));
                };
                if let Some(&method) = self.methods.get(&(tag, name)) {
                    return self.call_method_value(method, slot, argc);
                }
                // A map may hold functions under string keys: `m.f(x)`.
                if let Value::Map(m) = receiver {
                    let key = crate::object::Key::Str(self.heap.str(name).clone());
                    if let Some(&value) = self.heap.maps.get(m).get(&key) {
                        self.stack[slot] = value;
                        return self.call_value(slot, argc);
                    }
                }
                Err(self.no_method(receiver, name))
            }
        }
    }

    /// `AttributeError: <type> has no field 'name'`.
    pub(crate) fn no_attribute(&self, receiver: Value, name: Handle<crate::object::Str>) -> Exc {
        self.missing(receiver, "field", name)
    }

    /// `AttributeError: <type> has no method 'name'`.
    pub(crate) fn no_method(&self, receiver: Value, name: Handle<crate::object::Str>) -> Exc {
        self.missing(receiver, "method", name)
    }

    fn missing(&self, receiver: Value, what: &str, name: Handle<crate::object::Str>) -> Exc {
        raise(
            "AttributeError",
            format!(
                "{} has no {what} '{}'",
                self.type_name(receiver),
                self.heap.str(name)
            ),
        )
    }

    /// A member of a module by name.
    pub(crate) fn module_member(
        &self,
        id: u32,
        name: Handle<crate::object::Str>,
    ) -> VmResult<Value> {
        let module = &self.modules[id as usize];
        let text = self.heap.str(name);
        match module
            .scope
            .lookup(text)
            .map(|slot| module.globals[slot as usize])
        {
            Some(Value::Undef) | None => Err(raise(
                "AttributeError",
                format!("module '{}' has no member '{}'", module.name, text),
            )),
            Some(value) => Ok(value),
        }
    }

    /// Calls `closure` with `stack[slot]` as `R[0]`; calling an `async fn` spawns it instead.
    /// A call whose arguments match the parameters exactly goes straight to its frame
    /// (`push_plain_call`; callgrind, fib(25): 680 -> 540 instructions a call of `fib`,
    /// counting its body).
    #[inline]
    pub(crate) fn call_closure(
        &mut self,
        closure: Handle<Closure>,
        slot: usize,
        argc: usize,
        kind: FrameKind,
    ) -> VmResult<CallOutcome> {
        if self.push_plain_call(closure, slot, argc, kind).is_some() {
            return Ok(CallOutcome::Pushed);
        }
        self.call_closure_slow(closure, slot, argc, kind)
    }

    /// `call_closure` for `async fn`s, defaults, rest parameters and arity errors.
    #[cold]
    #[inline(never)]
    fn call_closure_slow(
        &mut self,
        closure: Handle<Closure>,
        slot: usize,
        argc: usize,
        kind: FrameKind,
    ) -> VmResult<CallOutcome> {
        if kind == FrameKind::Call && self.heap.closures.get(closure).proto.proto.is_async {
            // `R[0]` holds the closure itself, or the receiver of a method call.
            let callee = match self.stack[slot] {
                Value::Func(c) if c == closure => Value::Func(c),
                receiver => self.heap.alloc_bound(receiver, Value::Func(closure)),
            };
            let args = self.stack[slot + 1..slot + 1 + argc].to_vec();
            self.check_task_limit()?;
            self.stack[slot] = self.spawn_task(callee, &args, SpawnKind::Child);
            return Ok(CallOutcome::Done);
        }
        self.enter_closure(closure, slot, argc, kind)
    }

    /// The first call of a new task, `stack[0](stack[1..=argc])`: runs an `async fn` body
    /// directly rather than spawning it again.
    pub(crate) fn start_call(&mut self, argc: usize) -> VmResult<CallOutcome> {
        match self.stack[0] {
            Value::Func(closure) => self.enter_closure(closure, 0, argc, FrameKind::Call),
            Value::Bound(bound) => {
                let bound = self.heap.bounds.get(bound);
                let (receiver, method) = (bound.receiver, bound.method);
                match method {
                    Value::Func(closure) => {
                        self.stack[0] = receiver;
                        self.enter_closure(closure, 0, argc, FrameKind::Call)
                    }
                    _ => self.call_value(0, argc),
                }
            }
            _ => self.call_value(0, argc),
        }
    }

    /// The common script call (the interpreter's call instructions use it directly): when
    /// `closure` takes exactly `argc` plain arguments and the call depth allows one more frame,
    /// pushes its frame and returns the callee's function (one of `Vm::protos`, so it lives as
    /// long as the VM), which the interpreter switches to. `None` means nothing was done and the
    /// call goes the general way (`call_value`, which binds defaults, spawns `async fn`s or
    /// raises). Answering without a `VmResult` keeps the result out of memory (callgrind,
    /// fib(25): 77.0M -> 75.7M instructions).
    #[inline(always)]
    pub(crate) fn push_plain_call(
        &mut self,
        closure: Handle<Closure>,
        slot: usize,
        argc: usize,
        kind: FrameKind,
    ) -> Option<*const FnProto> {
        let callee = self.heap.closures.get(closure);
        if callee.proto.plain_arity != argc as u32 || self.frames_full() {
            return None;
        }
        let (frame_size, ip) = (callee.proto.frame_size, callee.proto.ip_at(0));
        let function = Rc::as_ptr(&callee.proto);
        self.write_frame(function, frame_size, ip, Some(closure), slot, kind);
        Some(function)
    }

    /// Binds positional arguments and pushes a frame for `closure`.
    fn enter_closure(
        &mut self,
        closure: Handle<Closure>,
        slot: usize,
        argc: usize,
        kind: FrameKind,
    ) -> VmResult<CallOutcome> {
        let closure_obj = self.heap.closures.get(closure);
        let proto = closure_obj.proto.clone();
        let p = &proto.proto;
        if argc != p.params.len() || p.has_rest {
            self.bind_irregular(&proto, slot, argc)?;
        }
        self.push_frame(&proto, Some(closure), slot, kind)
    }

    /// Pushes a frame for `proto` whose `R[0]` is `stack[base]`. Always inlined: as a call of
    /// its own it passed seven arguments and saved registers on every script call (callgrind:
    /// fib 115M -> 108M instructions, calls 769M -> 737M).
    #[inline(always)]
    pub(crate) fn push_frame(
        &mut self,
        proto: &Rc<FnProto>,
        closure: Option<Handle<Closure>>,
        base: usize,
        kind: FrameKind,
    ) -> VmResult<CallOutcome> {
        if self.frames_full() {
            return Err(raise(
                "StackOverflow",
                format!("maximum call depth of {} exceeded", self.max_frames),
            ));
        }
        self.write_frame(
            Rc::as_ptr(proto),
            proto.frame_size,
            proto.ip_at(0),
            closure,
            base,
            kind,
        );
        Ok(CallOutcome::Pushed)
    }

    /// Whether the call depth allows no more frames. The bottom frame (a module's top level)
    /// does not count, and a recursion that counts down from `max_frames` to 0 inclusive
    /// (`max_frames + 1` calls) still fits.
    #[inline(always)]
    fn frames_full(&self) -> bool {
        self.frames.len() > self.max_frames + 1
    }

    /// `push_frame` once the depth is known to allow it.
    #[inline(always)]
    fn write_frame(
        &mut self,
        function: *const FnProto,
        frame_size: usize,
        ip: *const Op,
        closure: Option<Handle<Closure>>,
        base: usize,
        kind: FrameKind,
    ) {
        self.ensure_stack(base, frame_size);
        // Growing the vector is out of line, and each path makes its own frame, so the common
        // one writes it straight into place. A frame made once for both paths was assembled on
        // the stack with 4- and 8-byte stores and copied with 16-byte loads, which stalled on
        // every call (perf, fib: 14% of the samples on the copy).
        let frame = move || Frame {
            function,
            closure,
            ip,
            base,
            kind,
        };
        if self.frames.len() == self.frames.capacity() {
            self.push_frame_growing(frame());
        } else {
            // Known to fit, so this `push` has no growing path.
            self.frames.push(frame());
        }
    }

    #[cold]
    #[inline(never)]
    fn push_frame_growing(&mut self, frame: Frame) {
        self.frames.push(frame);
    }

    /// Arity handling when the argument count differs from the parameter count: defaults, rest, errors.
    fn bind_irregular(&mut self, proto: &FnProto, slot: usize, argc: usize) -> VmResult<()> {
        let p = &proto.proto;
        let fixed = p.params.len() - usize::from(p.has_rest);
        if argc > fixed && !p.has_rest {
            return Err(self.arity_error(proto, argc));
        }
        self.ensure_stack(slot, proto.frame_size);
        for i in argc..fixed {
            if !p.has_default[i] {
                return Err(type_error(format!(
                    "{}() missing argument '{}'",
                    p.name, p.params[i]
                )));
            }
            self.stack[slot + 1 + i] = Value::Undef;
        }
        if p.has_rest {
            let extra: Vec<Value> = if argc > fixed {
                self.stack[slot + 1 + fixed..slot + 1 + argc].to_vec()
            } else {
                Vec::new()
            };
            let list = self.heap.alloc_list(extra);
            self.stack[slot + 1 + fixed] = list;
        }
        Ok(())
    }

    fn arity_error(&self, proto: &FnProto, argc: usize) -> Exc {
        let p = &proto.proto;
        let max = p.params.len();
        let min = p.has_default.iter().take_while(|d| !**d).count();
        let takes = if min == max {
            format!("{max} argument{}", if max == 1 { "" } else { "s" })
        } else {
            format!("{min} to {max} arguments")
        };
        type_error(format!("{}() takes {takes} but {argc} were given", p.name))
    }

    /// `CallEx`: `stack[slot+1]` is the positional list, `stack[slot+2]` the named map or nil.
    /// `with_self`: `stack[slot]` is a receiver that stays as `R[0]` (method calls).
    pub(crate) fn call_ex(&mut self, slot: usize, method: Option<Value>) -> VmResult<CallOutcome> {
        let positional = match self.stack[slot + 1] {
            Value::List(l) => self.heap.lists.get(l).to_vec(),
            _ => Vec::new(),
        };
        let named: Vec<(crate::text::Text, Value)> = match self.stack[slot + 2] {
            Value::Map(m) => self
                .heap
                .maps
                .get(m)
                .iter()
                .map(|(k, v)| match k {
                    crate::object::Key::Str(s) => (s.clone(), *v),
                    _ => (crate::text::Text::default(), *v),
                })
                .collect(),
            _ => Vec::new(),
        };
        let callee = method.unwrap_or(self.stack[slot]);
        let target = match callee {
            Value::Class(class) => {
                let init = self.instantiate(class, slot);
                match init {
                    Some(Value::Func(closure)) => Some((closure, FrameKind::Init)),
                    _ => None,
                }
            }
            Value::Func(closure) => Some((closure, FrameKind::Call)),
            Value::Bound(b) => {
                let bound = self.heap.bounds.get(b);
                let (receiver, method) = (bound.receiver, bound.method);
                self.stack[slot] = receiver;
                match method {
                    Value::Func(closure) => Some((closure, FrameKind::Call)),
                    _ => return self.call_spread_native(method, slot, &positional, &named, true),
                }
            }
            _ => None,
        };
        let Some((closure, kind)) = target else {
            return self.call_spread_native(callee, slot, &positional, &named, method.is_some());
        };
        let closure_obj = self.heap.closures.get(closure);
        let proto = closure_obj.proto.clone();
        if proto.proto.is_async && kind == FrameKind::Call {
            if let Some((name, _)) = named.first() {
                return Err(type_error(format!(
                    "{}() is async and takes positional arguments only, not '{name}'",
                    proto.proto.name
                )));
            }
            let argc = positional.len();
            self.ensure_stack(slot, argc + 2);
            self.stack[slot + 1..slot + 1 + argc].copy_from_slice(&positional);
            return self.call_closure(closure, slot, argc, kind);
        }
        let args = self.bind_named(&proto, positional, named)?;
        self.ensure_stack(slot, proto.frame_size + args.len());
        self.stack[slot + 1..slot + 1 + args.len()].copy_from_slice(&args);
        self.push_frame(&proto, Some(closure), slot, kind)
    }

    /// Spread or named arguments to something that is not a closure: natives take positional only.
    fn call_spread_native(
        &mut self,
        callee: Value,
        slot: usize,
        positional: &[Value],
        named: &[(crate::text::Text, Value)],
        with_self: bool,
    ) -> VmResult<CallOutcome> {
        if let Some((name, _)) = named.first() {
            return Err(type_error(format!(
                "{}() got an unexpected argument '{name}'",
                self.display(callee)
            )));
        }
        let argc = positional.len();
        self.ensure_stack(slot, argc + 2);
        self.stack[slot + 1..slot + 1 + argc].copy_from_slice(positional);
        if with_self {
            self.call_method_value(callee, slot, argc)
        } else {
            self.stack[slot] = callee;
            self.call_value(slot, argc)
        }
    }

    /// Lays out parameters from positional and named arguments; missing defaults become `Undef`.
    fn bind_named(
        &mut self,
        proto: &FnProto,
        positional: Vec<Value>,
        named: Vec<(crate::text::Text, Value)>,
    ) -> VmResult<Vec<Value>> {
        let p = &proto.proto;
        let fixed = p.params.len() - usize::from(p.has_rest);
        if positional.len() > fixed && !p.has_rest {
            return Err(self.arity_error(proto, positional.len()));
        }
        let mut args: Vec<Option<Value>> = vec![None; fixed];
        let mut extra = Vec::new();
        for (i, value) in positional.into_iter().enumerate() {
            if i < fixed {
                args[i] = Some(value);
            } else {
                extra.push(value);
            }
        }
        for (name, value) in named {
            let Some(i) = p.params[..fixed].iter().position(|param| **param == *name) else {
                return Err(type_error(format!(
                    "{}() got an unexpected argument '{name}'",
                    p.name
                )));
            };
            if args[i].is_some() {
                return Err(type_error(format!(
                    "{}() got multiple values for argument '{name}'",
                    p.name
                )));
            }
            args[i] = Some(value);
        }
        let mut out = Vec::with_capacity(p.params.len());
        for (i, arg) in args.into_iter().enumerate() {
            match arg {
                Some(v) => out.push(v),
                None if p.has_default[i] => out.push(Value::Undef),
                None => {
                    return Err(type_error(format!(
                        "{}() missing argument '{}'",
                        p.name, p.params[i]
                    )))
                }
            }
        }
        if p.has_rest {
            out.push(self.heap.alloc_list(extra));
        }
        Ok(out)
    }
}

/// The method-table tag of a built-in value, if it has methods.
pub(crate) fn type_tag(value: Value) -> Option<TypeTag> {
    Some(match value {
        Value::Str(_) => TypeTag::Str,
        Value::List(_) => TypeTag::List,
        Value::Map(_) => TypeTag::Map,
        Value::Range(_) => TypeTag::Range,
        Value::Error(_) => TypeTag::Error,
        Value::Task(_) => TypeTag::Task,
        Value::Channel(_) => TypeTag::Channel,
        Value::Scope(_) => TypeTag::Scope,
        Value::Func(_) | Value::Native(_) | Value::Bound(_) => TypeTag::Func,
        _ => return None,
    })
}
