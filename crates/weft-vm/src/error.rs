//! Runtime errors as they travel through Rust code (`Exc`), and their conversion to Weft error values.
//!
//! An operation that fails returns `Exc::Raise` with a kind and message; the interpreter turns it into
//! an error value carrying the stack trace once it knows the faulting instruction. Script `throw`s and
//! errors already materialised travel as `Exc::Throw(value)`.

use std::rc::Rc;

use crate::object::ErrorObj;
use crate::value::Value;
use crate::vm::Vm;

/// A runtime error on its way to a handler.
#[derive(Debug, Clone)]
pub enum Exc {
    /// A new error; the trace is taken where it is raised. Boxed so that an `Exc` is 16 bytes
    /// and a `VmResult` comes back in registers rather than through memory (the hot paths of the
    /// interpreter return `VmResult<()>` on every instruction that can fail).
    Raise(Box<Raised>),
    /// An existing value being thrown (or rethrown) as it is.
    Throw(Value),
    /// `os.exit(code)`: ends the program; no handler or `finally` sees it.
    Exit(i32),
    /// The running task blocked (its wait is recorded in the task); not an error. Natives that
    /// block return it, and the interpreter ends the task's slice.
    Block,
    /// The running task was killed (`exit(t, "kill")` on itself): it ends at once, running no
    /// handler or `finally`.
    Kill,
}

/// The kind and message of an error raised by Rust code (`Exc::Raise`).
#[derive(Debug, Clone)]
pub struct Raised {
    /// Error kind, e.g. `TypeError`.
    pub kind: Rc<str>,
    /// Message, lower case, no final full stop (see docs/errors.md).
    pub message: String,
}

/// Shorthand for a `Result` whose error is an `Exc`.
pub type VmResult<T> = Result<T, Exc>;

/// Creates an `Exc::Raise`.
pub fn raise(kind: &str, message: impl Into<String>) -> Exc {
    Exc::Raise(Box::new(Raised {
        kind: Rc::from(kind),
        message: message.into(),
    }))
}

/// `TypeError` with a message.
pub fn type_error(message: impl Into<String>) -> Exc {
    raise("TypeError", message)
}

/// `ValueError` with a message.
pub fn value_error(message: impl Into<String>) -> Exc {
    raise("ValueError", message)
}

impl Vm {
    /// Builds an error value, with the current stack trace.
    pub fn new_error(&mut self, kind: &str, message: &str) -> Value {
        let trace = self.trace();
        self.heap.alloc_error(ErrorObj {
            kind: Rc::from(kind),
            message: Rc::from(message),
            trace,
            fields: Vec::new(),
        })
    }

    /// The error value an `Exc` stands for (for hosts turning a failure into a value).
    pub fn materialize_error(&mut self, exc: Exc) -> Value {
        self.materialize(exc)
    }

    /// Turns an `Exc` into the value that is thrown: new errors get the current trace; thrown error
    /// values without a trace get one now.
    pub(crate) fn materialize(&mut self, exc: Exc) -> Value {
        match exc {
            Exc::Raise(raised) => self.new_error(&raised.kind, &raised.message),
            Exc::Exit(_) | Exc::Block | Exc::Kill => Value::Nil,
            Exc::Throw(value) => {
                if let Value::Error(h) = value {
                    if self.heap.errors.get(h).trace.is_empty() {
                        let trace = self.trace();
                        self.heap.errors.get_mut(h).trace = trace;
                    }
                }
                value
            }
        }
    }

    /// The current stack trace, innermost frame first, as `fn file:line:col`. A run of identical
    /// frames (deep recursion) keeps its first three lines and then one `... N more frames like the
    /// line above` line, so a 200,000-frame overflow stays cheap to build and readable to print.
    pub fn trace(&self) -> Vec<String> {
        const KEEP: usize = 3;
        let mut lines = Vec::new();
        let mut frames = self.frames.iter().rev().peekable();
        while let Some(frame) = frames.next() {
            let at = self.frame_pc(frame).saturating_sub(1);
            let mut run = 1;
            while frames
                .peek()
                .is_some_and(|f| std::ptr::eq(f.function, frame.function) && f.ip == frame.ip)
            {
                frames.next();
                run += 1;
            }
            let proto = &frame.function().proto;
            let line = format!("{} {}", proto.name, proto.location(at));
            for _ in 0..run.min(KEEP) {
                lines.push(line.clone());
            }
            if run > KEEP {
                lines.push(format!(
                    "... {} more frames like the line above",
                    run - KEEP
                ));
            }
        }
        // Async trace: where this task was spawned, then where its spawner was, and so on.
        let mut site = self
            .sched
            .current
            .and_then(|t| self.heap.tasks.get(t).spawned_at.clone());
        while let Some(s) = site {
            for (i, (proto, pc)) in s.frames.iter().enumerate() {
                let proto = &proto.proto;
                let at = proto.location(pc.saturating_sub(1));
                let prefix = if i == 0 { "spawned at " } else { "" };
                lines.push(format!("{prefix}{} {at}", proto.name));
            }
            site = s.parent.clone();
        }
        lines
    }
}

impl Vm {
    /// The trace lines of a thrown value (`fn file:line:col`, innermost first); empty for non-errors.
    pub fn error_trace(&self, value: Value) -> Vec<String> {
        match value {
            Value::Error(h) => self.heap.errors.get(h).trace.clone(),
            _ => Vec::new(),
        }
    }
}
