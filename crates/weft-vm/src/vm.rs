//! The VM: heap, the running task's registers and frames, modules, natives and method tables.
//!
//! The VM never blocks and never recurses on the Rust stack for script calls: [`Vm::run`] executes
//! instructions for a given amount of fuel and returns a [`Halt`]. Everything a task needs to resume
//! (registers, frames, handlers) lives in plain data, so a task can stop at any instruction.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use rustc_hash::FxHashMap;
use weft_compiler::{compile_module, Constant, ModuleScope, Op, Proto};
use weft_syntax::{Diagnostic, SourceFile};

use crate::divisor::Divisors;
use crate::error::VmResult;
use crate::heap::Heap;
use crate::object::{Closure, Str};
use crate::scheduler::Scheduler;
use crate::value::{Handle, ModuleId, NativeId, Value};

/// Default maximum number of nested calls before `StackOverflow`.
pub const DEFAULT_MAX_FRAMES: usize = 200_000;

/// A loaded function: the compiled proto plus its constants as heap values.
#[derive(Debug)]
pub struct FnProto {
    /// The compiled code.
    pub proto: Rc<Proto>,
    /// `proto.consts` as values (strings interned).
    pub consts: Vec<Value>,
    /// Nested functions, loaded.
    pub children: Vec<Rc<FnProto>>,
    /// The argument count a call binds without extra work (no defaults to fill, no rest list, not
    /// `async`), or `u32::MAX`: one compare on the call path instead of three loads through
    /// `proto`.
    pub(crate) plain_arity: u32,
    /// `proto.n_regs + 1`: the stack a frame of this function needs from its base.
    pub(crate) frame_size: usize,
    /// Its place in `Vm::protos`, which is how frames refer to it.
    pub(crate) id: ProtoId,
    /// `proto.code.as_ptr()`: a call finds where its callee starts here, without going through
    /// `proto` (one dependent load less on every call: see `docs/performance.md`). The code
    /// never moves: `proto` is never changed after loading, and `Vm::protos` keeps it.
    entry: *const Op,
    /// The module it was compiled in, whose globals its code reads (a frame has no module of
    /// its own: it is always its function's).
    pub(crate) module: ModuleId,
    /// The divisors of its `x % n` and `x // n`, for division by multiplication.
    pub(crate) divisors: Divisors,
}

impl FnProto {
    /// The address of instruction `pc` of the code.
    #[inline(always)]
    pub(crate) fn ip_at(&self, pc: usize) -> *const Op {
        self.entry.wrapping_add(pc)
    }

    /// The index of the instruction at `ip`, a pointer into the code.
    #[inline(always)]
    pub(crate) fn pc_of(&self, ip: *const Op) -> usize {
        (ip as usize - self.entry as usize) / std::mem::size_of::<Op>()
    }
}

/// A loaded function as a frame refers to it: its index in `Vm::protos`. A plain number rather
/// than an `Rc`, so pushing and popping a frame touches no reference count (callgrind, fib:
/// the increments, decrements and the out-of-line drop of a popped frame were about 30
/// instructions a call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtoId(u32);

impl ProtoId {
    /// Its index in `Vm::protos`.
    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }
}

/// A native function: `args` are the call's arguments (for methods, the receiver first).
pub type NativeFn = fn(&mut Vm, &[Value]) -> VmResult<Value>;

/// A native function that is a Rust closure (registered by an embedding host).
pub type NativeClosure = Rc<dyn Fn(&mut Vm, &[Value]) -> VmResult<Value>>;

/// The code of a native function.
#[derive(Clone)]
pub enum NativeCode {
    /// A plain function (the standard library).
    Fn(NativeFn),
    /// A closure capturing host state.
    Closure(NativeClosure),
}

/// A registered native function.
#[derive(Clone)]
pub struct Native {
    /// Name shown in `<fn name>` and error messages.
    pub name: Rc<str>,
    /// The implementation.
    pub code: NativeCode,
}

/// A module: its globals, by slot, and the names of those slots.
#[derive(Debug)]
pub struct Module {
    /// `<main>`, the std module name, or the file path.
    pub name: String,
    /// Global values by slot; `Undef` until defined.
    pub globals: Vec<Value>,
    /// Slot names (shared with the compiler, which extends it for each REPL line).
    pub scope: ModuleScope,
}

/// What a frame does with its result when it returns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FrameKind {
    /// An ordinary call: the result goes to the caller's `R[func]`.
    Call,
    /// A class constructor running `init`: the result is the instance in `R[0]`.
    Init,
    /// A module's top-level code: the result is the module value.
    ModuleInit(ModuleId),
}

/// One activation record on a task's frame stack.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    /// The running function, one of `Vm::protos` (see [`Frame::function`]). A pointer rather
    /// than its `ProtoId`, so that returning to a frame reaches its function with one load
    /// less, without indexing `Vm::protos` (see `docs/performance.md`).
    pub(crate) function: *const FnProto,
    /// The running closure (for upvalues); `None` for module top-level code.
    pub closure: Option<Handle<Closure>>,
    /// The next instruction, a pointer into the function's code (saved while the frame is not
    /// on top; `Vm::frame_pc` gives its index). A pointer, so that the dispatch loop saves and
    /// restores it without the code's address: it always points into `function`'s code, which
    /// never moves (the invariant on `Vm::protos`).
    pub(crate) ip: *const Op,
    /// Index of `R[0]` in the task's stack.
    pub base: usize,
    /// What happens to the result.
    pub kind: FrameKind,
}

impl Frame {
    /// The running function.
    #[inline(always)]
    pub(crate) fn function(&self) -> &FnProto {
        // SAFETY: `function` came from `Rc::as_ptr` of a function in `Vm::protos` (through
        // `load_proto`, `push_frame` or `push_plain_call`), which keeps every loaded function,
        // unmoved behind its `Rc`, for as long as the VM lives; frames live only in their VM.
        unsafe { &*self.function }
    }
}

/// An active `try` handler.
#[derive(Debug, Clone, Copy)]
pub struct Handler {
    /// Number of frames when the handler was pushed (the handler belongs to frame `depth - 1`).
    pub depth: usize,
    /// Where the `catch` code starts.
    pub catch_pc: usize,
    /// Absolute stack index receiving the thrown value.
    pub slot: usize,
}

/// Why [`Vm::run`] stopped.
#[derive(Debug, Clone)]
pub enum Halt {
    /// The program finished with this value.
    Done(Value),
    /// The fuel ran out; call `run` again to continue.
    OutOfFuel,
    /// No task can run now. `next_timer`: when the earliest timer is due (real time); `None`
    /// when only the host (I/O, promises) can wake a task. Call `run` again then.
    Idle {
        /// Time until the next timer.
        next_timer: Option<std::time::Duration>,
    },
    /// The program failed with an uncaught error (the thrown value).
    Error(Value),
    /// The program called `os.exit(code)`.
    Exit(i32),
}

/// Type tags used to key the method tables of built-in types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TypeTag {
    /// strings
    Str,
    /// lists
    List,
    /// maps
    Map,
    /// ranges
    Range,
    /// error values
    Error,
    /// functions
    Func,
    /// tasks
    Task,
    /// channels
    Channel,
    /// scopes
    Scope,
}

/// The Weft virtual machine.
pub struct Vm {
    /// All objects.
    pub heap: Heap,
    /// Registers of the running task.
    pub(crate) stack: Vec<Value>,
    /// Frames of the running task, innermost last.
    pub(crate) frames: Vec<Frame>,
    /// `try` handlers of the running task, innermost last.
    pub(crate) handlers: Vec<Handler>,
    /// All modules; `Value::Module(id)` indexes here. Modules live as long as the VM.
    pub(crate) modules: Vec<Module>,
    /// All natives; `Value::Native(id)` indexes here.
    pub(crate) natives: Vec<Native>,
    /// Names every module sees unless it defines its own (the prelude).
    pub(crate) builtins: FxHashMap<Rc<str>, Value>,
    /// Methods of built-in types: natives and prelude closures.
    pub(crate) methods: FxHashMap<(TypeTag, Handle<Str>), Value>,
    /// Modules written in Weft that others registered (`register_weft_module`).
    pub(crate) weft_modules: FxHashMap<String, &'static str>,
    /// Standard modules by name.
    pub(crate) std_modules: FxHashMap<String, ModuleId>,
    /// File modules by canonical path.
    pub(crate) file_modules: FxHashMap<PathBuf, ModuleId>,
    /// Every loaded proto, so constants stay rooted and frames can name theirs by index
    /// (`ProtoId`). Invariant: it only grows, and `load_proto` is the only maker of an
    /// `FnProto`, so every function a frame runs stays here, unmoved, while the VM lives.
    pub(crate) protos: Vec<Rc<FnProto>>,
    /// Where `print` writes.
    pub(crate) out: Box<dyn Write>,
    /// Command-line arguments after the script (`os.args`).
    pub args: Vec<String>,
    /// Maximum nested calls.
    pub max_frames: usize,
    /// The interned name `init`, looked up on every construction.
    pub(crate) init_name: Handle<Str>,
    /// Tasks, ready queues, timers and the clock.
    pub sched: Scheduler,
    /// Reused argument buffer of native calls (see `call_native`).
    pub(crate) native_args: Vec<Value>,
    /// What scripts may touch outside the VM (none by default).
    pub permissions: crate::permissions::Permissions,
    /// Values the host keeps alive (`Vm::root`).
    pub(crate) host_roots: Vec<Option<Value>>,
    /// Where warnings and `eprint` go.
    pub(crate) err: Box<dyn Write>,
    /// Wall-clock seconds when the VM was created (`time()` adds the VM clock to it).
    pub(crate) wall_start: f64,
}

impl Vm {
    /// A VM with the prelude, the built-in methods and the standard modules installed.
    pub fn new() -> Vm {
        let mut heap = Heap::new();
        let init_name = heap.intern("init");
        let mut vm = Vm {
            heap,
            stack: Vec::new(),
            frames: Vec::new(),
            handlers: Vec::new(),
            modules: Vec::new(),
            natives: Vec::new(),
            builtins: FxHashMap::default(),
            methods: FxHashMap::default(),
            std_modules: FxHashMap::default(),
            weft_modules: FxHashMap::default(),
            file_modules: FxHashMap::default(),
            protos: Vec::new(),
            out: Box::new(std::io::BufWriter::new(std::io::stdout())),
            args: Vec::new(),
            max_frames: DEFAULT_MAX_FRAMES,
            init_name,
            sched: Scheduler::new(),
            native_args: Vec::new(),
            host_roots: Vec::new(),
            permissions: Default::default(),
            err: Box::new(std::io::stderr()),
            wall_start: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        };
        crate::stdlib::install(&mut vm);
        vm
    }

    /// Replaces the sink `print` writes to.
    pub fn set_output(&mut self, out: Box<dyn Write>) {
        self.out = out;
    }

    /// Replaces the sink warnings (and `eprint`) write to.
    pub fn set_error_output(&mut self, err: Box<dyn Write>) {
        self.err = err;
    }

    /// Flushes buffered output.
    pub fn flush(&mut self) {
        let _ = self.out.flush();
        let _ = self.err.flush();
    }

    /// Writes text to the error sink (warnings). Flushes `print` output first so the two
    /// streams interleave in program order on a terminal.
    pub fn write_err(&mut self, text: &str) {
        let _ = self.out.flush();
        let _ = self.err.write_all(text.as_bytes());
    }

    /// Writes text to the output sink (used by `print`).
    pub fn write_out(&mut self, text: &str) {
        let _ = self.out.write_all(text.as_bytes());
    }

    /// Registers a native function and returns its value.
    pub fn native(&mut self, name: &'static str, func: NativeFn) -> Value {
        self.natives.push(Native {
            name: Rc::from(name),
            code: NativeCode::Fn(func),
        });
        Value::Native((self.natives.len() - 1) as NativeId)
    }

    /// Registers a native closure (a host function) and returns its value.
    pub fn native_closure(&mut self, name: &str, func: NativeClosure) -> Value {
        self.natives.push(Native {
            name: Rc::from(name),
            code: NativeCode::Closure(func),
        });
        Value::Native((self.natives.len() - 1) as NativeId)
    }

    /// Keeps `value` alive across collections until [`Vm::unroot`]; the host's handle table.
    pub fn root(&mut self, value: Value) -> usize {
        match self.host_roots.iter().position(Option::is_none) {
            Some(i) => {
                self.host_roots[i] = Some(value);
                i
            }
            None => {
                self.host_roots.push(Some(value));
                self.host_roots.len() - 1
            }
        }
    }

    /// The value rooted under `id`.
    pub fn rooted(&self, id: usize) -> Value {
        self.host_roots
            .get(id)
            .copied()
            .flatten()
            .unwrap_or(Value::Nil)
    }

    /// Releases a root.
    pub fn unroot(&mut self, id: usize) {
        if let Some(slot) = self.host_roots.get_mut(id) {
            *slot = None;
        }
    }

    /// Makes `value` visible to every module under `name`.
    pub fn define_builtin(&mut self, name: &str, value: Value) {
        self.builtins.insert(Rc::from(name), value);
    }

    /// Registers a native builtin function under `name`.
    pub fn register_fn(&mut self, name: &'static str, func: NativeFn) {
        let value = self.native(name, func);
        self.define_builtin(name, value);
    }

    /// Registers a native method of a built-in type (the receiver is `args[0]`).
    pub fn register_method(&mut self, tag: TypeTag, name: &'static str, func: NativeFn) {
        let value = self.native(name, func);
        let key = self.heap.intern(name);
        self.methods.insert((tag, key), value);
    }

    /// Registers a standard module (for `import name`) with its members.
    pub fn register_module(&mut self, name: &str, members: Vec<(&str, Value)>) -> ModuleId {
        let mut scope = ModuleScope::default();
        let mut globals = Vec::new();
        for (member, value) in members {
            scope.slot(&Rc::from(member));
            globals.push(value);
        }
        let id = self.modules.len() as ModuleId;
        self.modules.push(Module {
            name: name.to_string(),
            globals,
            scope,
        });
        self.std_modules.insert(name.to_string(), id);
        id
    }

    /// Creates an empty module (a script, a file module or the REPL's).
    pub fn new_module(&mut self, name: &str) -> ModuleId {
        let id = self.modules.len() as ModuleId;
        self.modules.push(Module {
            name: name.to_string(),
            globals: Vec::new(),
            scope: ModuleScope::default(),
        });
        id
    }

    /// Parses and compiles `source` into `module`; on failure returns every diagnostic.
    pub fn compile(
        &mut self,
        module: ModuleId,
        file: Rc<SourceFile>,
        return_last: bool,
    ) -> Result<Rc<FnProto>, Vec<Diagnostic>> {
        let (program, diags) = weft_syntax::parse(&file.text);
        if !diags.is_empty() {
            return Err(diags);
        }
        let scope = &mut self.modules[module as usize].scope;
        let proto = compile_module(&program, file, scope, return_last)?;
        self.sync_globals(module);
        Ok(self.load_proto(proto, module))
    }

    /// Grows a module's globals to match its scope, filling builtin names.
    fn sync_globals(&mut self, module: ModuleId) {
        let m = &mut self.modules[module as usize];
        while m.globals.len() < m.scope.names.len() {
            let name = &m.scope.names[m.globals.len()];
            let value = self.builtins.get(name).copied().unwrap_or(Value::Undef);
            m.globals.push(value);
        }
    }

    /// Turns a compiled proto into a loaded one, interning its string constants.
    pub(crate) fn load_proto(&mut self, proto: Rc<Proto>, module: ModuleId) -> Rc<FnProto> {
        let consts = proto
            .consts
            .iter()
            .map(|c| match c {
                Constant::Int(i) => Value::Int(*i),
                Constant::Float(f) => Value::Float(*f),
                Constant::Str(s) => Value::Str(self.heap.intern(s)),
            })
            .collect();
        let children = proto
            .protos
            .iter()
            .map(|p| self.load_proto(p.clone(), module))
            .collect();
        let plain_arity = if proto.has_rest || proto.is_async {
            u32::MAX
        } else {
            proto.params.len() as u32
        };
        let frame_size = proto.n_regs as usize + 1;
        let id = ProtoId(u32::try_from(self.protos.len()).expect("fewer than 2^32 functions"));
        let globals = self.modules[module as usize].globals.len();
        if let Err(problem) = check_code(&proto.code, frame_size, globals) {
            panic!("compiler bug in {}: {problem}", proto.name);
        }
        let divisors = Divisors::of_code(&proto.code);
        let loaded = Rc::new(FnProto {
            divisors,
            entry: proto.code.as_ptr(),
            proto,
            consts,
            children,
            plain_arity,
            frame_size,
            id,
            module,
        });
        self.protos.push(loaded.clone());
        loaded
    }

    /// The loaded function a frame runs.
    #[inline]
    pub(crate) fn proto(&self, id: ProtoId) -> &Rc<FnProto> {
        &self.protos[id.index()]
    }

    /// The index of `frame`'s next instruction in its function's code.
    pub(crate) fn frame_pc(&self, frame: &Frame) -> usize {
        frame.function().pc_of(frame.ip)
    }

    /// Starts a program: `main` (a module's top-level proto, from [`Vm::compile`], which it runs
    /// against) becomes the bottom frame of the main task, in a fresh root scope. Tasks of an earlier program (a previous REPL line) are dropped.
    ///
    /// # Panics
    /// If `main` was compiled by another `Vm`.
    pub fn start(&mut self, main: Rc<FnProto>) {
        self.reset_scheduler();
        self.load_top_level(main);
        self.start_main(None);
        self.arm_deadline();
    }

    /// Sets the program's deadline timer from `Limits::deadline` (on the root scope); `start`
    /// does it, a host that spawns tasks itself calls it once.
    pub fn arm_deadline(&mut self) {
        if let Some(deadline) = self.sched.limits.deadline {
            let root = self.root_scope();
            let at = self.sched.clock.now_ns() + deadline.as_nanos() as u64;
            self.deadline_at(root, at);
        }
    }

    /// Replaces the VM's registers and frames with one frame running a module's top level (the
    /// next root task takes them over).
    ///
    /// # Panics
    /// If `main` was not compiled by this VM: its frames hold their function by a pointer that
    /// this VM's `protos` keeps valid (see `Frame::function`), and the checks of its code were
    /// made against this VM's modules.
    pub(crate) fn load_top_level(&mut self, main: Rc<FnProto>) {
        assert!(
            self.protos
                .get(main.id.index())
                .is_some_and(|own| Rc::ptr_eq(own, &main)),
            "a program compiled by another Vm was started: compile it with this Vm's `compile`"
        );
        self.stack.clear();
        self.frames.clear();
        self.handlers.clear();
        self.stack.resize(main.frame_size, Value::Nil);
        self.frames.push(Frame {
            function: Rc::as_ptr(&main),
            closure: None,
            ip: main.ip_at(0),
            base: 0,
            kind: FrameKind::Call,
        });
    }

    /// Starts a program whose main task calls `func()` (for example one `test_*` function of
    /// `weft test`), in a fresh root scope.
    pub fn start_function(&mut self, func: Value) {
        self.reset_scheduler();
        self.stack.clear();
        self.frames.clear();
        self.handlers.clear();
        self.start_main(Some(func));
    }

    /// A fresh scheduler keeping the clock mode, clock reading and cancel grace.
    fn reset_scheduler(&mut self) {
        let virtual_time = self.sched.clock.is_virtual();
        let grace = self.sched.cancel_grace;
        let limits = self.sched.limits.clone();
        let clock_now = self.sched.clock.now_ns();
        self.sched = Scheduler::new();
        self.sched.cancel_grace = grace;
        self.sched.limits = limits;
        if virtual_time {
            self.sched.set_virtual(clock_now);
        }
    }

    /// A builtin by name.
    pub fn builtin(&self, name: &str) -> Option<Value> {
        self.builtins.get(name).copied()
    }

    /// Makes a builtin defined after `module` was compiled visible in it (a slot for the name
    /// that is still undefined gets the builtin).
    pub fn sync_builtin(&mut self, module: ModuleId, name: &str) {
        let Some(value) = self.builtin(name) else {
            return;
        };
        let m = &mut self.modules[module as usize];
        if let Some(slot) = m.scope.lookup(name) {
            if let Value::Undef = m.globals[slot as usize] {
                m.globals[slot as usize] = value;
            }
        }
    }

    /// A global of a module by name (`None` when undefined).
    pub fn global(&self, module: ModuleId, name: &str) -> Option<Value> {
        let m = &self.modules[module as usize];
        match m.scope.lookup(name).map(|slot| m.globals[slot as usize]) {
            Some(Value::Undef) | None => None,
            found => found,
        }
    }

    /// The names of a module's globals, in definition order.
    pub fn global_names(&self, module: ModuleId) -> Vec<Rc<str>> {
        self.modules[module as usize].scope.names.clone()
    }

    /// Runs a whole source text as the main module and returns its halt (running to completion).
    pub fn run_source(&mut self, name: &str, text: &str) -> Result<Halt, Vec<Diagnostic>> {
        let file = SourceFile::new(name, text);
        let module = self.new_module("<main>");
        let main = self.compile(module, file, false)?;
        self.start(main);
        Ok(self.run_to_end())
    }

    /// Runs until done or failed, in slices of fuel, sleeping the thread while only timers are
    /// pending. (Hosts with I/O drive [`Vm::run`] from an event loop instead: `weft-runtime`.)
    pub fn run_to_end(&mut self) -> Halt {
        loop {
            match self.run(1 << 20) {
                Halt::OutOfFuel => continue,
                Halt::Idle {
                    next_timer: Some(wait),
                } => {
                    self.flush();
                    std::thread::sleep(wait);
                }
                other => {
                    self.flush();
                    return other;
                }
            }
        }
    }

    /// Directory that relative imports of the running function resolve against.
    pub(crate) fn current_dir(&self) -> PathBuf {
        let name = self
            .frames
            .last()
            .map(|f| f.function().proto.file.name.clone())
            .unwrap_or_default();
        Path::new(&name)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// Collects garbage if the heap asks for it. Only call at a safe point: every live value must be
    /// in a register, a global, or another root listed here.
    pub(crate) fn maybe_collect(&mut self) {
        if !self.heap.wants_collection() {
            return;
        }
        self.collect_roots();
        if let Some(max) = self.sched.limits.max_memory {
            let estimate = self.heap.live_after_collection() * 64;
            if estimate > max {
                self.sched.limit_hit = Some(format!(
                    "memory limit of {} MB exceeded",
                    max / (1024 * 1024)
                ));
            }
        }
    }

    /// Collects garbage now, sweeping everything (same safe-point rule as `maybe_collect`);
    /// returns how many objects were freed.
    pub fn collect_garbage(&mut self) -> usize {
        self.collect_roots() + self.heap.finish_sweep()
    }

    /// Marks from the roots; the sweep then proceeds lazily with allocation.
    fn collect_roots(&mut self) -> usize {
        let mut roots: Vec<Value> = Vec::with_capacity(self.stack.len() + 64);
        roots.extend_from_slice(&self.stack);
        roots.extend_from_slice(&self.native_args);
        roots.extend(self.host_roots.iter().flatten().copied());
        self.sched.roots(&mut roots);
        for frame in &self.frames {
            if let Some(closure) = frame.closure {
                roots.push(Value::Func(closure));
            }
        }
        for module in &self.modules {
            roots.extend_from_slice(&module.globals);
        }
        roots.extend(self.builtins.values().copied());
        roots.extend(self.methods.values().copied());
        for proto in &self.protos {
            roots.extend_from_slice(&proto.consts);
        }
        self.heap.collect(roots)
    }
}

impl Default for Vm {
    fn default() -> Self {
        Vm::new()
    }
}

/// The invariants the interpreter's unchecked reads rest on (`interp.rs`: `reg`, the fetch of
/// the next instruction, globals), checked once when code is loaded: every register an
/// instruction names lies inside its frame of `frame_size` registers, every global slot is one
/// of the module's `globals` (which only grow), every branch lands on an instruction, and the
/// code ends in an instruction that does not go on to the next one, so `pc` always stays inside
/// the code. Only the compiler makes code, so a failure here is a compiler bug.
fn check_code(code: &[Op], frame_size: usize, globals: usize) -> Result<(), String> {
    for (pc, op) in code.iter().enumerate() {
        if op.max_register().is_some_and(|r| r >= frame_size) {
            return Err(format!(
                "`{op}` at {pc} names a register outside its {frame_size}"
            ));
        }
        if let Op::GetGlobal { slot, .. }
        | Op::SetGlobal { slot, .. }
        | Op::AssignGlobal { slot, .. } = op
        {
            if *slot as usize >= globals {
                return Err(format!(
                    "`{op}` at {pc} names a global outside its {globals}"
                ));
            }
        }
        if let Some(offset) = op.branch_offset() {
            let target = pc as i64 + 1 + offset as i64;
            if !(0..code.len() as i64).contains(&target) {
                return Err(format!("`{op}` at {pc} branches outside the code"));
            }
        }
    }
    match code.last() {
        Some(op) if op.ends_flow() => Ok(()),
        _ => Err("the code does not end in a return or a jump".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::check_code;
    use weft_compiler::{Cmp, Op};

    #[test]
    fn code_that_stays_inside_its_frame_and_code_is_accepted() {
        let code = [
            Op::JumpIfNotImm {
                cmp: Cmp::Lt,
                lhs: 1,
                imm: 2,
                offset: 1,
            },
            Op::Return { src: 1 },
            Op::Call { func: 2, argc: 1 },
            Op::Jump { offset: -4 },
        ];
        assert_eq!(check_code(&code, 4, 0), Ok(()));
    }

    #[test]
    fn a_register_outside_the_frame_is_refused() {
        let code = [Op::LoadNil { dst: 3 }, Op::Return { src: 0 }];
        assert!(check_code(&code, 3, 0).unwrap_err().contains("register"));
        // A call's arguments count: `Call func=1 argc=2` uses registers 1 to 3.
        let code = [Op::Call { func: 1, argc: 2 }, Op::Return { src: 0 }];
        assert!(check_code(&code, 3, 0).is_err());
        assert_eq!(check_code(&code, 4, 0), Ok(()));
    }

    #[test]
    fn a_global_outside_the_module_is_refused() {
        let code = [Op::GetGlobal { dst: 0, slot: 2 }, Op::Return { src: 0 }];
        let problem = check_code(&code, 1, 2).unwrap_err();
        assert!(problem.contains("global"), "{problem}");
        assert_eq!(check_code(&code, 1, 3), Ok(()));
    }

    #[test]
    fn a_branch_outside_the_code_is_refused() {
        for offset in [1, -2] {
            let code = [Op::Jump { offset }, Op::Return { src: 0 }];
            let problem = check_code(&code, 1, 0).unwrap_err();
            assert!(problem.contains("branches outside"), "{problem}");
        }
    }

    #[test]
    fn code_that_runs_off_its_end_is_refused() {
        assert!(check_code(&[Op::LoadNil { dst: 0 }], 1, 0).is_err());
        assert!(check_code(&[], 1, 0).is_err());
    }
}
