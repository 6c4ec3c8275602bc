//! Host work: Rust futures that tasks wait for (async host functions, file I/O).
//!
//! A native that starts host work parks its task (`Vm::park_on_host`) and hands the future to
//! [`HostWork::start`]. The future cannot touch the VM, which is borrowed by whoever drives it, so
//! it ends in a [`Completion`]: a closure that makes the result once the VM is at hand. The event
//! loop spawns started futures on the tokio `LocalSet` ([`HostWork::spawn_started`]) and applies
//! finished ones between runs ([`HostWork::apply`]), which wakes the waiting tasks. Without an
//! event loop, [`HostWork::poll_started`] polls them once instead.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use weft_vm::{HostOp, Value, Vm};

/// Makes a finished operation's result once the VM is at hand: the value, or the error value to
/// throw at the call.
pub type Completion = Box<dyn FnOnce(&mut Vm) -> Result<Value, Value>>;

type HostFuture = Pin<Box<dyn Future<Output = Completion>>>;

/// What a module does when the process is asked to stop.
type ShutdownHook = Box<dyn Fn(&HostWork)>;

/// Pending host work of one VM.
#[derive(Default)]
pub struct HostWork {
    started: RefCell<Vec<(HostOp, HostFuture)>>,
    polled: RefCell<Vec<(HostOp, HostFuture)>>,
    completed: Rc<RefCell<Vec<(HostOp, Completion)>>>,
    notify: Rc<tokio::sync::Notify>,
    /// Spawned futures still running, to stop those whose task was cancelled.
    running: Rc<RefCell<std::collections::HashMap<HostOp, tokio::task::AbortHandle>>>,
    /// What to do when the process is asked to stop (SIGINT, SIGTERM): servers stop accepting.
    shutdown_hooks: RefCell<Vec<ShutdownHook>>,
    /// Services running (listening servers): with none, a stop signal ends the program at once.
    services: std::cell::Cell<usize>,
}

impl HostWork {
    /// Work for operation `op` (from `Vm::park_on_host`).
    pub fn start(&self, op: HostOp, future: impl Future<Output = Completion> + 'static) {
        self.started.borrow_mut().push((op, Box::pin(future)));
    }

    /// Completes `op` with work that is already done (a host promise resolved in Rust).
    pub fn finish(&self, op: HostOp, completion: Completion) {
        self.completed.borrow_mut().push((op, completion));
        self.notify.notify_one();
    }

    /// Hands started futures to the event loop (inside a tokio `LocalSet`).
    pub fn spawn_started(&self) {
        let started: Vec<_> = self.started.borrow_mut().drain(..).collect();
        for (op, future) in started {
            let completed = self.completed.clone();
            let notify = self.notify.clone();
            let running = self.running.clone();
            let handle = tokio::task::spawn_local(async move {
                let completion = future.await;
                running.borrow_mut().remove(&op);
                completed.borrow_mut().push((op, completion));
                notify.notify_one();
            });
            self.running.borrow_mut().insert(op, handle.abort_handle());
        }
    }

    /// Without an event loop: polls every started future once.
    pub fn poll_started(&self) {
        let mut polled = self.polled.borrow_mut();
        polled.extend(self.started.borrow_mut().drain(..));
        let mut cx = Context::from_waker(Waker::noop());
        polled.retain_mut(|(op, future)| match future.as_mut().poll(&mut cx) {
            Poll::Ready(completion) => {
                self.completed.borrow_mut().push((*op, completion));
                false
            }
            Poll::Pending => true,
        });
    }

    /// Delivers finished work to the tasks waiting for it.
    pub fn apply(&self, vm: &mut Vm) {
        self.stop_abandoned(vm);
        let completed = std::mem::take(&mut *self.completed.borrow_mut());
        for (op, completion) in completed {
            let result = completion(vm);
            vm.complete_host(op, result);
        }
    }

    /// Hands started work to the event loop and stops work nobody waits for any more (its
    /// future is dropped: a subprocess is killed, a socket operation given up). Call it after
    /// each run of the VM, before the loop waits.
    pub fn after_run(&self, vm: &mut Vm) {
        self.stop_abandoned(vm);
        self.spawn_started();
    }

    /// Stops the work of tasks that were cancelled while they waited for it.
    fn stop_abandoned(&self, vm: &mut Vm) {
        for op in vm.take_abandoned_host_ops() {
            if let Some(handle) = self.running.borrow_mut().remove(&op) {
                handle.abort();
            }
            self.started.borrow_mut().retain(|(o, _)| *o != op);
            self.polled.borrow_mut().retain(|(o, _)| *o != op);
        }
    }

    /// Registers what a module does when the process is asked to stop.
    pub fn on_shutdown(&self, hook: impl Fn(&HostWork) + 'static) {
        self.shutdown_hooks.borrow_mut().push(Box::new(hook));
    }

    /// A service (a listening server) started or stopped.
    pub fn service_started(&self) {
        self.services.set(self.services.get() + 1);
    }

    /// See [`HostWork::service_started`].
    pub fn service_stopped(&self) {
        self.services.set(self.services.get().saturating_sub(1));
    }

    /// Whether a service is running, so that a stop signal should shut down gracefully.
    pub fn has_services(&self) -> bool {
        self.services.get() > 0
    }

    /// Runs the shutdown hooks (servers stop accepting and let their serve loops end).
    pub fn shutdown(&self) {
        let hooks = std::mem::take(&mut *self.shutdown_hooks.borrow_mut());
        for hook in &hooks {
            hook(self);
        }
        self.services.set(0);
    }

    /// Resolves when some work finishes (for an event loop that is idle).
    pub async fn finished(&self) {
        self.notify.notified().await
    }
}
