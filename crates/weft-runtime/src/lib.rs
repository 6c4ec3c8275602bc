//! The runtime: drives a [`Vm`] on a tokio current-thread runtime.
//!
//! The VM never blocks (ARCHITECTURE.md): [`Vm::run`] runs tasks for some fuel and returns. This
//! crate decides when to call it again. While tasks are ready it keeps calling, giving tokio a turn
//! between calls so signal handlers (and, with issue 4, I/O completions) make progress; when the VM
//! reports [`Halt::Idle`] it parks on a tokio timer until the next VM timer is due. Under virtual
//! time the VM never reports a timer wait: it jumps its own clock.

mod file;
mod fs;
mod host_work;
mod http;
mod net;
mod process;

use std::rc::Rc;
use std::time::Duration;

pub use host_work::{Completion, HostWork};
use weft_vm::{Halt, Vm};

/// Reductions (calls and loop iterations, see `weft_vm::REDUCTIONS`) the VM runs between two
/// turns of the event loop: about a tenth of a millisecond, so sockets and signals are served
/// promptly while the turn itself costs nothing measurable (http hello under wrk, when this
/// counted instructions: 67k req/s at 200,000, 70k at 20,000; within the noise).
const FUEL_PER_TURN: u64 = 5_000;

/// How the runtime drives a program.
#[derive(Debug, Clone)]
pub struct Options {
    /// Virtual time: the clock starts at 0 and jumps to the next timer when no task is ready.
    pub virtual_time: bool,
    /// On SIGQUIT, print every task and where it is on stderr (`--dump-tasks-on-signal`).
    pub dump_tasks_on_signal: bool,
    /// Run time a cancelled task may keep going without a checkpoint (`--cancel-grace`).
    pub cancel_grace: Duration,
    /// `--max-tasks`, `--max-memory`, `--deadline` (LANGUAGE.md §9).
    pub limits: weft_vm::Limits,
    /// `--allow-env`, `--allow-all`.
    pub permissions: weft_vm::Permissions,
    /// SIGINT and SIGTERM stop the program gracefully: servers stop accepting and finish the
    /// requests in flight; after [`SHUTDOWN_GRACE`] every task is cancelled; a second signal (or
    /// a program without servers) ends it at once with exit code 128 + the signal number.
    pub graceful_signals: bool,
}

/// How long a graceful shutdown waits for requests in flight before cancelling every task.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

impl Default for Options {
    fn default() -> Self {
        Options {
            virtual_time: false,
            dump_tasks_on_signal: false,
            cancel_grace: weft_vm::DEFAULT_CANCEL_GRACE,
            limits: weft_vm::Limits::default(),
            permissions: weft_vm::Permissions::default(),
            graceful_signals: false,
        }
    }
}

impl Options {
    /// Configures a VM (before `start`) with the options that live in it.
    pub fn apply(&self, vm: &mut Vm) {
        vm.set_virtual_time(self.virtual_time);
        vm.sched.cancel_grace = self.cancel_grace;
        vm.sched.limits = self.limits.clone();
        vm.permissions = self.permissions.clone();
    }
}

/// Installs what the runtime provides to scripts (the `fs`, `process`, `net` and `http` modules) and returns the host work
/// queue its operations go through; pass it to [`run_blocking`] or [`run_async`].
pub fn install(vm: &mut Vm) -> Rc<HostWork> {
    let work = Rc::new(HostWork::default());
    fs::install(vm, &work);
    process::install(vm, &work);
    net::install(vm, &work);
    http::install(vm, &work);
    work
}

/// Runs the VM's started program to its end on a fresh current-thread tokio runtime.
pub fn run_blocking(vm: &mut Vm, options: &Options, work: &HostWork) -> Halt {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        // Without an event loop the VM can still run: it sleeps the thread between timers.
        Err(_) => return vm.run_to_end(),
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, run_async(vm, options, work))
}

/// Runs the VM's started program to its end inside an existing tokio `LocalSet`.
pub async fn run_async(vm: &mut Vm, options: &Options, work: &HostWork) -> Halt {
    let mut quit = if options.dump_tasks_on_signal {
        QuitSignal::new()
    } else {
        QuitSignal::none()
    };
    let mut stop = StopSignals::new(options.graceful_signals);
    let mut cancel_at: Option<std::time::Instant> = None;
    let halt = loop {
        if cancel_at.is_some_and(|at| std::time::Instant::now() >= at) {
            cancel_at = None;
            vm.cancel_all();
        }
        work.apply(vm);
        let pause = match vm.run(FUEL_PER_TURN) {
            Halt::OutOfFuel => None,
            Halt::Idle { next_timer } => {
                vm.flush();
                // No timer: only finished host work (I/O) can wake a task.
                Some(next_timer.unwrap_or(Duration::from_secs(3600)))
            }
            other => break other,
        };
        // Operations the slice started go to the event loop before it waits; those whose task
        // was cancelled are stopped.
        work.after_run(vm);
        // Wait for the pause (or just give tokio a turn), for host work, or for a SIGQUIT.
        // While shutting down, wake in time to cancel what is left after the grace.
        let pause = match cancel_at {
            Some(at) => Some(pause.map_or(Duration::ZERO, |p| {
                p.min(at.saturating_duration_since(std::time::Instant::now()))
            })),
            None => pause,
        };
        let event = tokio::select! {
            biased;
            _ = quit.recv() => Event::Dump,
            signal = stop.recv() => Event::Stop(signal),
            _ = work.finished() => Event::None,
            _ = pause_for(pause) => Event::None,
        };
        match event {
            Event::Dump => {
                vm.flush();
                eprint!("{}", vm.dump_tasks());
            }
            Event::Stop(signal) => {
                if cancel_at.is_some() || !work.has_services() {
                    vm.flush();
                    break Halt::Exit(128 + signal);
                }
                work.shutdown();
                cancel_at = Some(std::time::Instant::now() + SHUTDOWN_GRACE);
            }
            Event::None => {}
        }
    };
    vm.flush();
    // Answers already handed to server connections reach their sockets before the event loop
    // goes away (the connections' tasks need a few turns to write them).
    for _ in 0..32 {
        tokio::task::yield_now().await;
    }
    halt
}

/// Sleeps for `pause`, or only yields to tokio when `None`. tokio's timer has millisecond
/// granularity and rounds up, so the last sub-millisecond is spent yielding instead: a 10 ms
/// ticker then fires within tens of microseconds of its deadline rather than up to 1 ms late.
async fn pause_for(pause: Option<Duration>) {
    let coarse = pause.map_or(Duration::ZERO, |p| {
        p.saturating_sub(Duration::from_millis(1))
    });
    if coarse.is_zero() {
        tokio::task::yield_now().await;
    } else {
        tokio::time::sleep(coarse).await;
    }
}

/// What woke the event loop.
enum Event {
    None,
    Dump,
    /// SIGINT (2) or SIGTERM (15).
    Stop(i32),
}

/// SIGINT and SIGTERM, when the runtime handles them (Unix only); otherwise never fire.
struct StopSignals {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl StopSignals {
    fn new(on: bool) -> StopSignals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let signals = on
                .then(|| {
                    Some((
                        signal(SignalKind::interrupt()).ok()?,
                        signal(SignalKind::terminate()).ok()?,
                    ))
                })
                .flatten();
            StopSignals { signals }
        }
        #[cfg(not(unix))]
        {
            let _ = on;
            StopSignals {}
        }
    }

    async fn recv(&mut self) -> i32 {
        #[cfg(unix)]
        if let Some((interrupt, terminate)) = &mut self.signals {
            return tokio::select! {
                _ = interrupt.recv() => 2,
                _ = terminate.recv() => 15,
            };
        }
        std::future::pending::<i32>().await
    }
}

/// SIGQUIT, when the program asked for task dumps (Unix only); otherwise never fires.
struct QuitSignal {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl QuitSignal {
    fn new() -> QuitSignal {
        QuitSignal {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::quit()).ok(),
        }
    }

    fn none() -> QuitSignal {
        QuitSignal {
            #[cfg(unix)]
            signal: None,
        }
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = &mut self.signal {
            if signal.recv().await.is_some() {
                return;
            }
        }
        std::future::pending::<()>().await
    }
}
