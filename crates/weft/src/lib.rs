//! Weft embedded in a Rust program: the facade over the VM and its runtime (LANGUAGE.md §11).
//!
//! ```
//! let mut vm = weft::Vm::new();
//! vm.register_fn("add", |a: i64, b: i64| a + b);
//! let value = vm.eval("add(2, 3) * 10").unwrap();
//! assert_eq!(vm.display(value), "50");
//! ```
//!
//! A [`Vm`] owns the interpreter, its heap and its scheduler. Scripts run as tasks; the host
//! drives them with [`Vm::eval`], [`Vm::call`] or [`Vm::run`] (each blocks until its work is
//! done, on a tokio current-thread runtime of its own), with [`Vm::run_async`] inside the host's
//! own tokio `LocalSet`, or step by step with [`Vm::run_until_idle`] (a game loop). Host
//! functions are closures: sync ones ([`Vm::register_fn`]) convert their arguments with
//! [`FromWeft`]; async ones ([`Vm::register_async_fn`]) return a future, and the calling task
//! waits for it while every other task keeps running.

mod convert;
mod host;
mod json;

use std::future::Future;
use std::io::Write;
use std::rc::Rc;
use std::time::Duration;

pub use convert::{FromWeft, HostError, HostFn, HostReturn, IntoWeft};
pub use host::{Resolver, Root, TaskRef};
pub use json::{from_value, to_value};
pub use weft_vm::{Grant, Halt, Limits, Permissions, Value};

use host::Shared;

/// The interpreter the facade drives (`weft_vm::Vm`); host functions receive it.
pub type Core = weft_vm::Vm;

/// An error crossing from the script to the host.
///
/// ```
/// let mut vm = weft::Vm::new();
/// match vm.eval("[1, 2][5]") {
///     Err(weft::Error::Runtime { message, trace }) => {
///         assert_eq!(message, "IndexError: list index 5 out of range for length 2");
///         assert_eq!(trace, vec!["<main> <eval>:1:1"]);
///     }
///     other => panic!("{other:?}"),
/// }
/// assert!(matches!(vm.eval("let = 1"), Err(weft::Error::Compile(_))));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The source did not compile: every diagnostic, rendered.
    Compile(String),
    /// The script raised an error: `Kind: message`, then its trace.
    Runtime {
        /// `Kind: message` as `str(e)` shows it.
        message: String,
        /// Trace lines, innermost first.
        trace: Vec<String>,
    },
    /// The script called `os.exit(code)`.
    Exit(i32),
    /// A limit set with the builder was reached.
    Limit(String),
    /// The host asked for something that does not exist (an unknown function, a missing file).
    Host(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Compile(text) => write!(f, "{text}"),
            Error::Runtime { message, .. } => write!(f, "{message}"),
            Error::Exit(code) => write!(f, "the script exited with code {code}"),
            Error::Limit(what) => write!(f, "limit exceeded: {what}"),
            Error::Host(what) => write!(f, "{what}"),
        }
    }
}

impl std::error::Error for Error {}

/// Where [`Vm::run_until_idle`] stopped.
///
/// ```
/// let mut vm = weft::Vm::new();
/// vm.eval("fn nap() { sleep(50) }").unwrap();
/// let task = vm.spawn("nap", &[]).unwrap();
/// assert!(matches!(vm.run_until_idle(1_000).unwrap(), weft::RunState::Idle(_)));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum RunState {
    /// Every task finished.
    Done,
    /// The budget ran out with tasks still ready; call again.
    Busy,
    /// No task can run before the next timer, this far away.
    Idle(Duration),
    /// Tasks wait only for the host (async host functions, promises).
    WaitingOnHost,
}

/// Settings for a new [`Vm`].
///
/// ```
/// use std::time::Duration;
/// let mut vm = weft::Vm::builder()
///     .virtual_time(true)
///     .stdout(std::io::sink())
///     .max_tasks(1_000)
///     .deadline(Duration::from_secs(5))
///     .build();
/// let v = vm.eval("sleep(1000)\nnow()").unwrap();   // virtual: no real waiting
/// assert_eq!(vm.display(v), "1000.0");
/// ```
pub struct Builder {
    virtual_time: bool,
    stdout: Option<Box<dyn Write>>,
    stderr: Option<Box<dyn Write>>,
    cancel_grace: Duration,
    fuel: Option<u64>,
    limits: weft_vm::Limits,
    permissions: weft_vm::Permissions,
}

impl Builder {
    /// At most `n` unfinished tasks at once; a spawn beyond raises `LimitExceeded` in the script.
    pub fn max_tasks(mut self, n: usize) -> Self {
        self.limits.max_tasks = Some(n);
        self
    }

    /// At most about `bytes` of heap (64 bytes per object, checked after each collection); the
    /// running task gets `LimitExceeded`.
    pub fn max_memory(mut self, bytes: usize) -> Self {
        self.limits.max_memory = Some(bytes);
        self
    }

    /// Everything the VM runs must finish within `deadline` (from building the VM, on the VM
    /// clock); then every task is cancelled and the pending call fails with `LimitExceeded`.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.limits.deadline = Some(deadline);
        self
    }

    /// Virtual time: the clock starts at 0 and jumps to the next timer when nothing is ready.
    pub fn virtual_time(mut self, on: bool) -> Self {
        self.virtual_time = on;
        self
    }

    /// Where `print` writes (stdout by default).
    pub fn stdout(mut self, out: impl Write + 'static) -> Self {
        self.stdout = Some(Box::new(out));
        self
    }

    /// Where warnings and `eprint` write (stderr by default).
    pub fn stderr(mut self, err: impl Write + 'static) -> Self {
        self.stderr = Some(Box::new(err));
        self
    }

    /// How long a cancelled task may run without a checkpoint before it is interrupted.
    pub fn cancel_grace(mut self, grace: Duration) -> Self {
        self.cancel_grace = grace;
        self
    }

    /// What scripts may touch outside the VM; nothing by default (LANGUAGE.md §9).
    pub fn permissions(mut self, permissions: weft_vm::Permissions) -> Self {
        self.permissions = permissions;
        self
    }

    /// Fuel for everything the VM runs, in reductions (one for each call and each loop
    /// iteration); beyond it, calls fail with [`Error::Limit`] and every task is cancelled.
    pub fn fuel(mut self, reductions: u64) -> Self {
        self.fuel = Some(reductions);
        self
    }

    /// The VM.
    pub fn build(self) -> Vm {
        let mut core = Core::new();
        if let Some(out) = self.stdout {
            core.set_output(out);
        }
        if let Some(err) = self.stderr {
            core.set_error_output(err);
        }
        core.set_virtual_time(self.virtual_time);
        core.sched.cancel_grace = self.cancel_grace;
        core.sched.limits = self.limits;
        core.permissions = self.permissions;
        core.arm_deadline();
        let module = core.new_module("<host>");
        let shared = Rc::new(Shared::new(weft_runtime::install(&mut core)));
        let mut vm = Vm {
            core,
            module,
            shared,
            fuel: self.fuel,
            runtime: None,
        };
        host::install(&mut vm);
        vm
    }
}

/// A Weft virtual machine with its scheduler, for a Rust host.
pub struct Vm {
    core: Core,
    module: u32,
    shared: Rc<Shared>,
    fuel: Option<u64>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Default for Vm {
    fn default() -> Self {
        Vm::new()
    }
}

impl Vm {
    /// A VM with default settings (real time, stdout and stderr, no limits).
    pub fn new() -> Vm {
        Vm::builder().build()
    }

    /// Settings for a VM.
    pub fn builder() -> Builder {
        Builder {
            virtual_time: false,
            stdout: None,
            stderr: None,
            cancel_grace: weft_vm::DEFAULT_CANCEL_GRACE,
            fuel: None,
            limits: weft_vm::Limits::default(),
            permissions: weft_vm::Permissions::default(),
        }
    }

    /// The interpreter itself, for what the facade does not cover.
    pub fn core(&mut self) -> &mut Core {
        &mut self.core
    }

    /// Runs `source` as code of the host's module (its definitions stay for later `eval`s and
    /// `call`s) until it and the tasks it waits for are done; returns its last expression.
    pub fn eval(&mut self, source: &str) -> Result<Value, Error> {
        self.eval_named("<eval>", source)
    }

    /// Runs a file like [`Vm::eval`]; relative imports in it resolve from its folder.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("weft-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// std::fs::write(dir.join("init.weft"), "let answer = 42").unwrap();
    /// let mut vm = weft::Vm::new();
    /// vm.load_file(dir.join("init.weft")).unwrap();
    /// let answer = vm.eval("answer").unwrap();
    /// assert_eq!(vm.display(answer), "42");
    /// ```
    pub fn load_file(&mut self, path: impl AsRef<std::path::Path>) -> Result<Value, Error> {
        let path = path.as_ref();
        let source = std::fs::read_to_string(path)
            .map_err(|e| Error::Host(format!("cannot read '{}': {e}", path.display())))?;
        self.eval_named(&path.to_string_lossy(), &source)
    }

    fn eval_named(&mut self, name: &str, source: &str) -> Result<Value, Error> {
        let file = weft_syntax::SourceFile::new(name, source);
        let main = self
            .core
            .compile(self.module, file.clone(), true)
            .map_err(|diags| {
                Error::Compile(diags.iter().map(|d| d.render(&file)).collect::<String>())
            })?;
        let task = self.core.spawn_host_module(main);
        self.finish(task)
    }

    /// Calls the global function `name` of the host's module (or a builtin) with `args`.
    ///
    /// ```
    /// let mut vm = weft::Vm::new();
    /// vm.eval("fn greet(name) { \"hello ${name}\" }").unwrap();
    /// let who = vm.value("weft".to_string());
    /// let v = vm.call("greet", &[who]).unwrap();
    /// assert_eq!(vm.display(v), "hello weft");
    /// ```
    pub fn call(&mut self, name: &str, args: &[Value]) -> Result<Value, Error> {
        let func = self.function(name)?;
        let task = self.core.spawn_host_call(func, args);
        self.finish(task)
    }

    /// The global function `name` of the host's module, or the builtin of that name.
    fn function(&self, name: &str) -> Result<Value, Error> {
        self.core
            .global(self.module, name)
            .or_else(|| self.core.builtin(name))
            .ok_or_else(|| Error::Host(format!("no function named '{name}'")))
    }

    /// Runs until `task` is done (other tasks keep running meanwhile) and returns its result.
    fn finish(&mut self, task: weft_vm::Handle<weft_vm::Task>) -> Result<Value, Error> {
        let root = self.core.root(Value::Task(task));
        let outcome = self.block_on_drive(Some(task));
        self.core.unroot(root);
        outcome?;
        match self.core.task_result(task) {
            Some(Ok(value)) => Ok(value),
            // Cancelled because the whole VM failed (a limit, a detached task): report why.
            Some(Err(error)) if self.core.display(error).starts_with("TaskCancelled") => {
                let cause = self.core.root_failure().unwrap_or(error);
                Err(self.runtime_error(cause))
            }
            Some(Err(error)) => Err(self.runtime_error(error)),
            None => Err(Error::Host("the task did not finish".into())),
        }
    }

    /// Starts the global function `name` as a task without waiting for it; drive it with
    /// [`Vm::run_until_idle`] or [`Vm::run`], then read [`Vm::result`].
    pub fn spawn(&mut self, name: &str, args: &[Value]) -> Result<TaskRef, Error> {
        let func = self.function(name)?;
        let task = self.core.spawn_host_call(func, args);
        Ok(host::TaskRef::new(&mut self.core, task, &self.shared))
    }

    /// A task's result once it has finished.
    pub fn result(&self, task: &TaskRef) -> Option<Result<Value, Error>> {
        let Value::Task(t) = task.get(&self.core) else {
            return None;
        };
        self.core
            .task_result(t)
            .map(|r| r.map_err(|e| self.runtime_error(e)))
    }

    /// Runs every task to the end (the program's tasks, detached tasks, pending host work).
    ///
    /// ```
    /// let mut vm = weft::Vm::builder().virtual_time(true).build();
    /// vm.eval("let log = []\nspawn_detached { sleep(10); log.push(\"late\") }").unwrap();
    /// vm.run().unwrap();
    /// let log = vm.eval("log").unwrap();
    /// assert_eq!(vm.display(log), "[\"late\"]");
    /// ```
    pub fn run(&mut self) -> Result<(), Error> {
        self.block_on_drive(None)
    }

    /// [`Vm::run`] inside the host's tokio runtime; call it within a `LocalSet`.
    ///
    /// ```
    /// let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    /// tokio::task::LocalSet::new().block_on(&runtime, async {
    ///     let mut vm = weft::Vm::new();
    ///     vm.register_async_fn("tick", |(): ()| async { Ok::<_, weft::HostError>(1i64) });
    ///     let task = vm.spawn("tick", &[]).unwrap();
    ///     vm.run_async().await.unwrap();
    ///     assert_eq!(vm.display(vm.result(&task).unwrap().unwrap()), "1");
    /// });
    /// ```
    pub async fn run_async(&mut self) -> Result<(), Error> {
        self.drive(None).await
    }

    /// Runs for at most `budget` reductions (calls and loop iterations) without blocking, for a
    /// host that drives the VM from its own loop. Completed host work is applied first.
    ///
    /// ```
    /// use weft::RunState;
    /// let mut vm = weft::Vm::builder().virtual_time(true).build();
    /// vm.eval("fn count(n) { let i = 0\nwhile i < n { i += 1 }\ni }").unwrap();
    /// let task = vm.spawn("count", &[weft::Value::Int(100_000)]).unwrap();
    /// let mut frames = 0;
    /// while vm.run_until_idle(5_000).unwrap() != RunState::Done {
    ///     frames += 1; // the host renders a frame between slices
    /// }
    /// assert!(frames > 10);
    /// assert_eq!(vm.display(vm.result(&task).unwrap().unwrap()), "100000");
    /// ```
    pub fn run_until_idle(&mut self, budget: u64) -> Result<RunState, Error> {
        self.shared.work.poll_started();
        self.shared.work.apply(&mut self.core);
        for id in self.shared.take_released() {
            self.core.unroot(id);
        }
        if self.shared.take_cancel() {
            self.core.cancel_all();
        }
        // The host may still send to or cancel a blocked task: blocked is idle, not deadlocked.
        self.core.sched.host_driven = true;
        let halt = self.core.run(budget);
        self.core.sched.host_driven = false;
        match halt {
            Halt::OutOfFuel => Ok(RunState::Busy),
            Halt::Idle {
                next_timer: Some(wait),
            } => Ok(RunState::Idle(wait)),
            Halt::Idle { next_timer: None } => Ok(RunState::WaitingOnHost),
            Halt::Done(_) => Ok(RunState::Done),
            Halt::Error(e) => Err(self.runtime_error(e)),
            Halt::Exit(code) => Err(Error::Exit(code)),
        }
    }

    fn block_on_drive(
        &mut self,
        until: Option<weft_vm::Handle<weft_vm::Task>>,
    ) -> Result<(), Error> {
        let runtime = match self.runtime.take() {
            Some(runtime) => runtime,
            None => tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .map_err(|e| Error::Host(format!("cannot start the event loop: {e}")))?,
        };
        let local = tokio::task::LocalSet::new();
        let result = local.block_on(&runtime, self.drive(until));
        self.runtime = Some(runtime);
        result
    }

    /// The event loop: runs tasks, starts and completes host futures, sleeps until timers.
    async fn drive(&mut self, until: Option<weft_vm::Handle<weft_vm::Task>>) -> Result<(), Error> {
        // Reductions between two turns of the event loop (see `weft_vm::REDUCTIONS`).
        const TURN: u64 = 50_000;
        loop {
            self.shared.work.spawn_started();
            self.shared.work.apply(&mut self.core);
            for id in self.shared.take_released() {
                self.core.unroot(id);
            }
            if self.shared.take_cancel() {
                self.core.cancel_all();
            }
            if until.is_some_and(|t| self.core.task_done(t)) {
                self.core.flush();
                return Ok(());
            }
            let turn = match self.fuel {
                Some(0) => {
                    self.core.cancel_all();
                    return Err(Error::Limit("instruction fuel".into()));
                }
                Some(left) => left.min(TURN),
                None => TURN,
            };
            let halt = self.core.run(turn);
            let pause = match halt {
                Halt::OutOfFuel => {
                    if let Some(fuel) = &mut self.fuel {
                        *fuel -= turn;
                    }
                    None
                }
                Halt::Idle { next_timer } => {
                    self.core.flush();
                    next_timer.or(Some(Duration::from_secs(3600)))
                }
                Halt::Done(_) => {
                    self.core.flush();
                    return Ok(());
                }
                Halt::Error(e) => {
                    self.core.flush();
                    if until.is_some_and(|t| self.core.task_done(t)) {
                        return Ok(());
                    }
                    return Err(self.runtime_error(e));
                }
                Halt::Exit(code) => return Err(Error::Exit(code)),
            };
            // Futures the slice started go to the event loop before it waits; abandoned ones stop.
            self.shared.work.after_run(&mut self.core);
            match pause {
                None => tokio::task::yield_now().await,
                Some(wait) => {
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = self.shared.work.finished() => {}
                    }
                }
            }
        }
    }

    fn runtime_error(&self, error: Value) -> Error {
        Error::Runtime {
            message: self.core.display(error),
            trace: self.core.error_trace(error),
        }
    }

    /// Registers a sync host function: `vm.register_fn("add", |a: i64, b: i64| a + b)`.
    /// Arguments are converted with [`FromWeft`] (a mismatch raises `TypeError` in the script);
    /// return a value, or a `Result<T, HostError>` whose `Err` is raised in the script.
    pub fn register_fn<Args, F: HostFn<Args>>(&mut self, name: &str, func: F) {
        let shown: Rc<str> = Rc::from(name);
        let native = self.core.native_closure(
            name,
            Rc::new(move |vm: &mut Core, args: &[Value]| func.call(vm, &shown, args)),
        );
        self.core.define_builtin(name, native);
        self.core.sync_builtin(self.module, name);
    }

    /// Registers a module of host functions, for `import name` in scripts.
    ///
    /// ```
    /// let mut vm = weft::Vm::new();
    /// let geometry = weft::Module::new()
    ///     .function("area", |w: f64, h: f64| w * h)
    ///     .value("unit", "m");
    /// vm.register_module("geometry", geometry);
    /// let v = vm.eval("import geometry\n\"${geometry.area(2, 3.5)} ${geometry.unit}2\"").unwrap();
    /// assert_eq!(vm.display(v), "7.0 m2");
    /// ```
    pub fn register_module(&mut self, name: &str, module: Module) {
        let mut members = Vec::new();
        for member in module.members {
            let member_name = member.name();
            let value = member.make(&mut self.core, name);
            members.push((member_name, value));
        }
        let members: Vec<(&str, Value)> = members.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        self.core.register_module(name, members);
    }

    /// Registers an async host function: `f` gets the arguments (converted) and returns a
    /// future; the calling task waits for it while the other tasks run. Its output is a value,
    /// or `Err(HostError)` raised in the calling task.
    ///
    /// ```
    /// let mut vm = weft::Vm::new();
    /// vm.register_async_fn("double_later", |(n,): (i64,)| async move {
    ///     tokio::task::yield_now().await;
    ///     Ok::<_, weft::HostError>(n * 2)
    /// });
    /// let v = vm.eval("all([|| double_later(1), || double_later(2)])").unwrap();
    /// assert_eq!(vm.display(v), "[2, 4]");
    /// ```
    pub fn register_async_fn<A, Fut, T>(&mut self, name: &str, func: impl Fn(A) -> Fut + 'static)
    where
        A: FromWeftArgs,
        Fut: Future<Output = Result<T, HostError>> + 'static,
        T: IntoWeft + 'static,
    {
        let shared = self.shared.clone();
        let shown: Rc<str> = Rc::from(name);
        let native = self.core.native_closure(
            name,
            Rc::new(move |vm: &mut Core, args: &[Value]| {
                let args = A::from_args(vm, &shown, args)?;
                let future = func(args);
                let (op, parked) = vm.park_on_host();
                shared.start(op, future);
                Err(parked)
            }),
        );
        self.core.define_builtin(name, native);
        self.core.sync_builtin(self.module, name);
    }

    /// Receives every value a script passes to `emit(event)`, converted to JSON.
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// let mut vm = weft::Vm::new();
    /// let seen = Rc::new(RefCell::new(Vec::new()));
    /// let sink = seen.clone();
    /// vm.on_event(move |event| sink.borrow_mut().push(event));
    /// vm.eval("emit({score: 3})").unwrap();
    /// assert_eq!(seen.borrow()[0], serde_json::json!({"score": 3}));
    /// ```
    pub fn on_event(&mut self, handler: impl FnMut(serde_json::Value) + 'static) {
        *self.shared.events.borrow_mut() = Some(Box::new(handler));
    }

    /// A task for scripts to `await`, and the resolver the host completes it with later.
    /// Dropping the resolver unresolved fails the task, so nothing waits forever.
    ///
    /// ```
    /// let mut vm = weft::Vm::builder().virtual_time(true).build();
    /// vm.eval("fn plus_one(t) { await t + 1 }").unwrap();
    /// let (promise, resolver) = vm.promise();
    /// let task = vm.spawn("plus_one", &[promise.value(&vm)]).unwrap();
    /// vm.run_until_idle(1_000).unwrap();      // plus_one now waits for the host
    /// resolver.resolve(41i64);
    /// vm.run_until_idle(1_000).unwrap();
    /// assert_eq!(vm.display(vm.result(&task).unwrap().unwrap()), "42");
    /// ```
    pub fn promise(&mut self) -> (TaskRef, Resolver) {
        host::promise(self)
    }

    /// Sends `message` to a task's mailbox.
    ///
    /// ```
    /// let mut vm = weft::Vm::builder().virtual_time(true).build();
    /// vm.eval("fn echo() { receive { m => \"got ${m}\" } }").unwrap();
    /// let task = vm.spawn("echo", &[]).unwrap();
    /// vm.send(&task, "ping");
    /// vm.run().unwrap();
    /// assert_eq!(vm.display(vm.result(&task).unwrap().unwrap()), "got ping");
    /// ```
    pub fn send(&mut self, task: &TaskRef, message: impl IntoWeft) {
        let message = message.into_weft(&mut self.core);
        if let Value::Task(t) = task.get(&self.core) {
            self.core.send_message(t, message);
        }
    }

    /// Cancels a task; true if it was still running.
    ///
    /// ```
    /// let mut vm = weft::Vm::builder().virtual_time(true).build();
    /// vm.eval("fn forever() { receive { m => m } }").unwrap();
    /// let task = vm.spawn("forever", &[]).unwrap();
    /// vm.run_until_idle(1_000).unwrap();
    /// assert!(vm.cancel(&task));
    /// vm.run_until_idle(1_000).unwrap();
    /// assert!(vm.result(&task).unwrap().is_err());   // TaskCancelled
    /// ```
    pub fn cancel(&mut self, task: &TaskRef) -> bool {
        match task.get(&self.core) {
            Value::Task(t) => self.core.cancel_task(t),
            _ => false,
        }
    }

    /// Keeps a value alive across collections for as long as the [`Root`] lives.
    ///
    /// ```
    /// let mut vm = weft::Vm::new();
    /// let list = vm.eval("[1, [2, 3]]").unwrap();
    /// let kept = vm.root(list);
    /// vm.core().collect_garbage();
    /// assert_eq!(vm.display(vm.get(&kept)), "[1, [2, 3]]");
    /// ```
    pub fn root(&mut self, value: Value) -> Root {
        Root::new(&mut self.core, value, &self.shared)
    }

    /// The value behind a root.
    pub fn get(&self, root: &Root) -> Value {
        root.get(&self.core)
    }

    /// `str(value)`.
    pub fn display(&self, value: Value) -> String {
        self.core.display(value)
    }

    /// A value from Rust data (see [`IntoWeft`]); [`Vm::extract`] goes the other way.
    ///
    /// ```
    /// let mut vm = weft::Vm::new();
    /// let v = vm.value(vec![1i64, 2, 3]);
    /// assert_eq!(vm.display(v), "[1, 2, 3]");
    /// assert_eq!(vm.extract::<Vec<i64>>(v), Some(vec![1, 2, 3]));
    /// ```
    pub fn value(&mut self, data: impl IntoWeft) -> Value {
        data.into_weft(&mut self.core)
    }

    /// Rust data from a value.
    pub fn extract<T: FromWeft>(&self, value: Value) -> Option<T> {
        T::from_weft(&self.core, value)
    }

    /// A token that stops every script from any thread (see [`CancelToken`]).
    ///
    /// ```
    /// let mut vm = weft::Vm::builder()
    ///     .cancel_grace(std::time::Duration::from_millis(10))
    ///     .build();
    /// let token = vm.cancel_token();
    /// std::thread::spawn(move || {
    ///     std::thread::sleep(std::time::Duration::from_millis(20));
    ///     token.cancel();
    /// });
    /// assert!(vm.eval("while true { }").is_err());
    /// ```
    pub fn cancel_token(&self) -> host::CancelToken {
        self.shared.cancel_token()
    }
}

/// A module of host functions and values, for [`Vm::register_module`].
#[derive(Default)]
pub struct Module {
    members: Vec<Member>,
}

type MakeMember = Box<dyn FnOnce(&mut Core, &str) -> Value>;

struct Member {
    name: String,
    make: MakeMember,
}

impl Member {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn make(self, core: &mut Core, module: &str) -> Value {
        (self.make)(core, module)
    }
}

impl Module {
    /// An empty module.
    pub fn new() -> Module {
        Module::default()
    }

    /// Adds a host function (as [`Vm::register_fn`] takes them).
    pub fn function<Args, F: HostFn<Args>>(mut self, name: &str, func: F) -> Self {
        let member = name.to_string();
        self.members.push(Member {
            name: name.to_string(),
            make: Box::new(move |core: &mut Core, module: &str| {
                let shown: Rc<str> = Rc::from(format!("{module}.{member}"));
                let label = shown.clone();
                core.native_closure(
                    &label,
                    Rc::new(move |vm: &mut Core, args: &[Value]| func.call(vm, &shown, args)),
                )
            }),
        });
        self
    }

    /// Adds a constant.
    pub fn value<T: IntoWeft + 'static>(mut self, name: &str, value: T) -> Self {
        self.members.push(Member {
            name: name.to_string(),
            make: Box::new(move |core: &mut Core, _| value.into_weft(core)),
        });
        self
    }
}

/// The arguments of an async host function, taken all at once: a tuple of [`FromWeft`] types.
pub trait FromWeftArgs: Sized {
    /// Converts and checks the arguments.
    fn from_args(vm: &Core, name: &str, args: &[Value]) -> weft_vm::VmResult<Self>;
}

macro_rules! from_args {
    ($($arg:ident : $i:tt),*) => {
        impl<$($arg: FromWeft),*> FromWeftArgs for ($($arg,)*) {
            #[allow(unused_variables)]
            fn from_args(vm: &Core, name: &str, args: &[Value]) -> weft_vm::VmResult<Self> {
                convert::arity(name, args, <[usize]>::len(&[$($i),*]))?;
                Ok(($(convert::arg::<$arg>(vm, name, args, $i)?,)*))
            }
        }
    };
}

from_args!();
from_args!(A: 0);
from_args!(A: 0, B: 1);
from_args!(A: 0, B: 1, C: 2);

pub use host::CancelToken;
