//! The host's side of running tasks: async host functions, promises, events, rooted values and
//! the cancel token.
//!
//! Host futures cannot touch the VM (the VM is borrowed by whoever drives it), so each future
//! ends in a *completion*: a closure that, given the VM, makes the result value. The driver
//! applies completions between runs with [`weft_vm::Vm::complete_host`], which wakes the waiting
//! task.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use weft_vm::{HostOp, Value};

use crate::convert::{host_result, HostError, IntoWeft};
use crate::{Core, Vm};

use weft_runtime::{Completion, HostWork};

/// What `on_event` registered.
pub(crate) type EventHandler = Box<dyn FnMut(serde_json::Value)>;

/// State shared between the facade, its host functions and the futures they start.
pub(crate) struct Shared {
    /// Host work in flight (async host functions, files), from `weft-runtime`.
    pub(crate) work: Rc<HostWork>,
    /// `on_event`'s handler.
    pub(crate) events: RefCell<Option<EventHandler>>,
    /// Promises by id.
    promises: RefCell<HashMap<i64, PromiseState>>,
    next_promise: RefCell<i64>,
    /// Roots whose handles were dropped, to release.
    released: Rc<RefCell<Vec<usize>>>,
    /// Set by a [`CancelToken`].
    cancel: Arc<AtomicBool>,
}

enum PromiseState {
    /// Resolved before its task asked.
    Resolved(Completion),
    /// Its task waits on this operation.
    Waiting(HostOp),
}

impl Shared {
    /// State around the runtime's host work queue.
    pub(crate) fn new(work: Rc<HostWork>) -> Shared {
        Shared {
            work,
            events: RefCell::new(None),
            promises: RefCell::new(HashMap::new()),
            next_promise: RefCell::new(0),
            released: Rc::new(RefCell::new(Vec::new())),
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }

    /// An async host function started `future` for operation `op`.
    pub(crate) fn start<T: IntoWeft + 'static>(
        &self,
        op: HostOp,
        future: impl Future<Output = Result<T, HostError>> + 'static,
    ) {
        self.work.start(op, async move {
            let result = future.await;
            Box::new(move |vm: &mut Core| {
                host_result(vm, result).map_err(|e| vm.materialize_error(e))
            }) as Completion
        });
    }

    pub(crate) fn cancel_token(&self) -> CancelToken {
        CancelToken(self.cancel.clone())
    }

    /// Whether a cancel token fired since the last call.
    pub(crate) fn take_cancel(&self) -> bool {
        self.cancel.swap(false, Ordering::SeqCst)
    }

    pub(crate) fn take_released(&self) -> Vec<usize> {
        std::mem::take(&mut *self.released.borrow_mut())
    }
}

/// Stops every script of a VM from any thread (see [`Vm::cancel_token`] for an example): `token.cancel()` cancels all tasks at their next
/// checkpoint, and a task that runs without one is interrupted after the cancel grace.
#[derive(Clone)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// Requests the cancellation.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A value kept alive across collections while this handle lives (see [`Vm::root`]).
pub struct Root {
    id: usize,
    released: Rc<RefCell<Vec<usize>>>,
}

impl Root {
    pub(crate) fn new(core: &mut Core, value: Value, shared: &Shared) -> Root {
        Root {
            id: core.root(value),
            released: shared.released.clone(),
        }
    }

    pub(crate) fn get(&self, core: &Core) -> Value {
        core.rooted(self.id)
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        self.released.borrow_mut().push(self.id);
    }
}

/// A task handed to the host (rooted, so it stays valid); see [`Vm::spawn`] and [`Vm::promise`].
pub struct TaskRef(Root);

impl TaskRef {
    pub(crate) fn new(
        core: &mut Core,
        task: weft_vm::Handle<weft_vm::Task>,
        shared: &Shared,
    ) -> TaskRef {
        TaskRef(Root::new(core, Value::Task(task), shared))
    }

    pub(crate) fn get(&self, core: &Core) -> Value {
        self.0.get(core)
    }

    /// The task as a value (to pass to a script).
    pub fn value(&self, vm: &Vm) -> Value {
        self.get(&vm.core)
    }
}

/// Completes a promise made by [`Vm::promise`] (an example is there). Dropping it unresolved rejects the promise with
/// `HostError: the host dropped the promise`.
pub struct Resolver {
    id: i64,
    shared: Rc<Shared>,
    done: bool,
}

impl Resolver {
    /// Fulfils the promise with `value`.
    pub fn resolve<T: IntoWeft + 'static>(mut self, value: T) {
        self.finish(Box::new(move |vm: &mut Core| Ok(value.into_weft(vm))));
    }

    /// Fails the promise: awaiting it raises `kind: message`.
    pub fn reject(mut self, error: HostError) {
        self.finish(Box::new(move |vm: &mut Core| {
            Err(vm.new_error(&error.kind, &error.message))
        }));
    }

    fn finish(&mut self, completion: Completion) {
        self.done = true;
        let state = self.shared.promises.borrow_mut().remove(&self.id);
        match state {
            Some(PromiseState::Waiting(op)) => self.shared.work.finish(op, completion),
            _ => {
                self.shared
                    .promises
                    .borrow_mut()
                    .insert(self.id, PromiseState::Resolved(completion));
            }
        }
    }
}

impl Drop for Resolver {
    fn drop(&mut self) {
        if !self.done {
            self.finish(Box::new(|vm: &mut Core| {
                Err(vm.new_error("HostError", "the host dropped the promise"))
            }));
        }
    }
}

/// A promise: a task running the builtin `__promise(id)`, which waits for the resolver.
pub(crate) fn promise(vm: &mut Vm) -> (TaskRef, Resolver) {
    let id = {
        let mut next = vm.shared.next_promise.borrow_mut();
        *next += 1;
        *next
    };
    let func = vm.core.builtin("__promise").expect("installed");
    let task = vm.core.spawn_host_call(func, &[Value::Int(id)]);
    let task = TaskRef::new(&mut vm.core, task, &vm.shared);
    let resolver = Resolver {
        id,
        shared: vm.shared.clone(),
        done: false,
    };
    (task, resolver)
}

/// Installs the builtins the facade needs: `emit(event)` and `__promise(id)`.
pub(crate) fn install(vm: &mut Vm) {
    let shared = vm.shared.clone();
    let emit = vm.core.native_closure(
        "emit",
        Rc::new(move |core: &mut Core, args: &[Value]| {
            let event = args.first().copied().unwrap_or(Value::Nil);
            let json = crate::json::to_json(core, event)?;
            if let Some(handler) = shared.events.borrow_mut().as_mut() {
                handler(json);
            }
            Ok(Value::Nil)
        }),
    );
    vm.core.define_builtin("emit", emit);
    let shared = vm.shared.clone();
    let wait = vm.core.native_closure(
        "__promise",
        Rc::new(move |core: &mut Core, args: &[Value]| {
            let Some(Value::Int(id)) = args.first().copied() else {
                return Ok(Value::Nil);
            };
            let state = shared.promises.borrow_mut().remove(&id);
            match state {
                Some(PromiseState::Resolved(completion)) => {
                    completion(core).map_err(weft_vm::Exc::Throw)
                }
                _ => {
                    let (op, parked) = core.park_on_host();
                    shared
                        .promises
                        .borrow_mut()
                        .insert(id, PromiseState::Waiting(op));
                    Err(parked)
                }
            }
        }),
    );
    vm.core.define_builtin("__promise", wait);
}
