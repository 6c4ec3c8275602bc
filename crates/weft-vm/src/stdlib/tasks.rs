//! Concurrency builtins: time, tasks, channels, scopes, and the primitives the Weft-written
//! combinators (`all`, `race`, `any`, `all_settled`, `timeout`, `move_on` in `prelude.weft`) use.

use std::rc::Rc;

use super::args::{arg_count, check_list, check_num, check_str, method_args, opt_arg, register};
use crate::error::{type_error, value_error, Exc, VmResult};
use crate::object::ErrorObj;
use crate::task::{CombineMode, Outcome, Priority, RecvMode, SelectCase, TaskState, Wait};
use crate::value::{Handle, Value};
use crate::vm::{TypeTag, Vm};

/// Installs the builtins and the methods of tasks, channels and scopes.
pub fn install(vm: &mut Vm) {
    vm.register_fn("sleep", sleep);
    vm.register_fn("now", now);
    vm.register_fn("time", time);
    vm.register_fn("yield_now", yield_now);
    vm.register_fn("current_task", current_task);
    vm.register_fn("check_cancelled", check_cancelled);
    vm.register_fn("channel", channel);
    vm.register_fn("__select", select);
    vm.register_fn("__start", start);
    vm.register_fn("__wait", wait);
    vm.register_fn("__cancel_owned", cancel_owned);
    vm.register_fn("__cleanup_failures", cleanup_failures);
    vm.register_fn("__outcome", outcome);
    vm.register_fn("__aggregate", aggregate);

    register(vm, TypeTag::Task, "task.cancel", task_cancel);
    register(vm, TypeTag::Task, "task.done", task_done);
    register(vm, TypeTag::Task, "task.set_priority", task_set_priority);
    register(vm, TypeTag::Task, "task.priority", task_priority);

    register(vm, TypeTag::Channel, "channel.send", chan_send);
    register(vm, TypeTag::Channel, "channel.recv", chan_recv);
    register(vm, TypeTag::Channel, "channel.recv_ok", chan_recv_ok);
    register(vm, TypeTag::Channel, "channel.close", chan_close);
    register(vm, TypeTag::Channel, "channel.len", chan_len);
    register(vm, TypeTag::Channel, "channel.cap", chan_cap);
    register(vm, TypeTag::Channel, "channel.closed", chan_closed);

    register(vm, TypeTag::Scope, "scope.cancel", scope_cancel);
    register(vm, TypeTag::Scope, "scope.cancelled", scope_cancelled);
    register(
        vm,
        TypeTag::Scope,
        "scope.__set_deadline",
        scope_set_deadline,
    );
    register(
        vm,
        TypeTag::Scope,
        "scope.__absorbed_deadline",
        scope_absorbed_deadline,
    );
}

fn sleep(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("sleep", args, 1, 1)?;
    let ms = check_num(vm, "sleep", args[0])?;
    vm.checkpoint()?;
    if ms.is_nan() || ms <= 0.0 {
        vm.sched.yielding = true;
        return Err(Exc::Block);
    }
    let at = vm.deadline_from_ms(ms);
    let me = vm.current_task();
    vm.wake_after(me, at);
    Err(vm.block_on(Wait::Sleep))
}

fn now(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("now", args, 0, 0)?;
    Ok(Value::Float(vm.now_ms()))
}

fn time(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("time", args, 0, 0)?;
    Ok(Value::Float(vm.wall_start + vm.now_ms() / 1000.0))
}

fn yield_now(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("yield_now", args, 0, 0)?;
    vm.checkpoint()?;
    vm.sched.yielding = true;
    Err(Exc::Block)
}

fn current_task(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("current_task", args, 0, 0)?;
    Ok(Value::Task(vm.current_task()))
}

fn check_cancelled(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("check_cancelled", args, 0, 0)?;
    vm.checkpoint()?;
    Ok(Value::Nil)
}

fn channel(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("channel", args, 0, 1)?;
    let cap = match opt_arg(args, 0) {
        None => 0,
        Some(Value::Int(n)) if n >= 0 => n as usize,
        Some(Value::Int(_)) => return Err(value_error("channel capacity must be >= 0")),
        Some(other) => {
            return Err(type_error(format!(
                "channel() argument must be int, not {}",
                vm.type_name(other)
            )))
        }
    };
    Ok(vm.new_channel(cap))
}

/// The task, channel or scope a builtin was given, or a TypeError naming the builtin.
fn handle_of<T>(
    vm: &Vm,
    name: &str,
    value: Value,
    what: &str,
    pick: fn(Value) -> Option<Handle<T>>,
) -> VmResult<Handle<T>> {
    pick(value).ok_or_else(|| {
        type_error(format!(
            "{name}() expects a {what}, not {}",
            vm.type_name(value)
        ))
    })
}

fn task_of(vm: &Vm, name: &str, value: Value) -> VmResult<Handle<crate::task::Task>> {
    handle_of(vm, name, value, "task", |v| match v {
        Value::Task(t) => Some(t),
        _ => None,
    })
}

fn channel_of(vm: &Vm, name: &str, value: Value) -> VmResult<Handle<crate::task::Channel>> {
    handle_of(vm, name, value, "channel", |v| match v {
        Value::Channel(c) => Some(c),
        _ => None,
    })
}

fn scope_of(vm: &Vm, name: &str, value: Value) -> VmResult<Handle<crate::task::ScopeObj>> {
    handle_of(vm, name, value, "scope", |v| match v {
        Value::Scope(s) => Some(s),
        _ => None,
    })
}

/// `__select(cases)`: cases are `[0, ch]` recv, `[5, ch]` recv_ok, `[1, ch, v]` send, `[2, t]`
/// await, `[3, ms]` after, `[4]` default (see weft-compiler's `select.rs`).
fn select(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("select", args, 1, 1)?;
    let list = check_list(vm, "select", args[0])?;
    let descriptors: Vec<Value> = vm.heap.lists.get(list).to_vec();
    let mut cases = Vec::with_capacity(descriptors.len());
    for d in descriptors {
        let Value::List(d) = d else {
            return Err(type_error("malformed select case"));
        };
        let parts = vm.heap.lists.get(d).clone();
        let case = match (parts.first(), parts.get(1), parts.get(2)) {
            (Some(Value::Int(0)), Some(&ch), _) => {
                SelectCase::Recv(channel_of(vm, "recv", ch)?, RecvMode::Plain)
            }
            (Some(Value::Int(5)), Some(&ch), _) => {
                SelectCase::Recv(channel_of(vm, "recv_ok", ch)?, RecvMode::Ok)
            }
            (Some(Value::Int(1)), Some(&ch), Some(&v)) => {
                SelectCase::Send(channel_of(vm, "send", ch)?, v)
            }
            (Some(Value::Int(2)), Some(&t), _) => match t {
                Value::Task(t) => SelectCase::Await(t),
                // Awaiting a plain value is ready at once with that value.
                other => {
                    return Ok(vm
                        .heap
                        .alloc_list(vec![Value::Int(cases.len() as i64), other]))
                }
            },
            (Some(Value::Int(3)), Some(&ms), _) => {
                let ms = check_num(vm, "after", ms)?;
                SelectCase::After(vm.deadline_from_ms(ms))
            }
            (Some(Value::Int(4)), _, _) => SelectCase::Default,
            _ => return Err(type_error("malformed select case")),
        };
        cases.push(case);
    }
    vm.select(cases)
}

/// `__start(xs)`: the combinators' input with every function spawned as a child task.
fn start(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("__start", args, 1, 1)?;
    let list = match args[0] {
        Value::List(l) => l,
        other => {
            return Err(type_error(format!(
                "combinators take a list of tasks, functions or values, not {}",
                vm.type_name(other)
            )))
        }
    };
    let items = vm.heap.lists.get(list).clone();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        out.push(match item {
            Value::Func(_) | Value::Native(_) | Value::Bound(_) => {
                vm.check_task_limit()?;
                vm.spawn_task(item, &[], crate::scope::SpawnKind::Child)
            }
            other => other,
        });
    }
    Ok(vm.heap.alloc_list(out))
}

/// `__wait(ts, mode)`: blocks until the combinator `mode` can decide (see `combinator_decision`).
fn wait(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("__wait", args, 2, 2)?;
    let list = check_list(vm, "__wait", args[0])?;
    let mode = check_str(vm, "__wait", args[1])?;
    let mode = match &**vm.heap.str(mode) {
        "all" => CombineMode::All,
        "settled" => CombineMode::Settled,
        "race" => CombineMode::Race,
        _ => CombineMode::Any,
    };
    vm.checkpoint()?;
    let items: Rc<[Value]> = vm.heap.lists.get(list).as_slice().into();
    if let Some(decision) = vm.combinator_decision(&items, mode) {
        for &item in items.iter() {
            if let Value::Task(t) = item {
                if vm.heap.tasks.get(t).state == TaskState::Done {
                    vm.observe(t);
                }
            }
        }
        return Ok(decision);
    }
    let me = vm.current_task();
    let seq = vm.heap.tasks.get(me).seq;
    for &item in items.iter() {
        if let Value::Task(t) = item {
            let task = vm.heap.tasks.get_mut(t);
            if task.state != TaskState::Done {
                task.waiters.push((me, seq));
            } else {
                vm.observe(t);
            }
        }
    }
    Err(vm.block_on(Wait::Combinator(items, mode)))
}

/// `__cancel_owned(ts)`: cancels the unfinished tasks spawned in the calling scope (the
/// combinator's own closures, or the caller's `spawn`s in that scope); tasks owned elsewhere are
/// left alone. Returns the indices of the tasks that were unfinished, whose later failures are
/// cleanup failures (see `__cleanup_failures`).
fn cancel_owned(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("__cancel_owned", args, 1, 1)?;
    let list = check_list(vm, "__cancel_owned", args[0])?;
    let calling = vm.current_scope();
    let items = vm.heap.lists.get(list).clone();
    let mut pending = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let Value::Task(t) = item else { continue };
        let task = vm.heap.tasks.get(t);
        if task.state == TaskState::Done {
            continue;
        }
        pending.push(Value::Int(i as i64));
        if task.parent == Some(calling) {
            vm.cancel_task(t);
        }
    }
    Ok(vm.heap.alloc_list(pending))
}

/// `__cleanup_failures(ts, pending, target)`: the tasks at `pending` indices that failed (other
/// than by cancellation) while the combinator cancelled and awaited them. Nothing is lost: with
/// a `target` task whose error the combinator is about to rethrow, they become that error's
/// `suppressed`; otherwise (the combinator returns a value) each is reported on stderr as
/// `warning: unobserved task failure: ...`.
fn cleanup_failures(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("__cleanup_failures", args, 3, 3)?;
    let items = check_list(vm, "__cleanup_failures", args[0])?;
    let pending = check_list(vm, "__cleanup_failures", args[1])?;
    let indices = vm.heap.lists.get(pending).clone();
    let mut failures = Vec::new();
    for index in indices {
        let Value::Int(i) = index else { continue };
        let Some(&Value::Task(t)) = vm.heap.lists.get(items).get(i as usize) else {
            continue;
        };
        if let Some(Outcome::Error(e)) = vm.heap.tasks.get(t).outcome {
            failures.push(e);
        }
    }
    let target = match args[2] {
        Value::Task(t) => match vm.heap.tasks.get(t).outcome {
            Some(Outcome::Error(e) | Outcome::Cancelled(e)) => Some(e),
            _ => None,
        },
        _ => None,
    };
    match target {
        Some(error) => vm.add_suppressed(error, failures),
        None => {
            for failure in failures {
                let text = format!(
                    "warning: unobserved task failure: {}\n",
                    vm.display(failure)
                );
                vm.write_err(&text);
            }
        }
    }
    Ok(Value::Nil)
}

/// `__outcome(x)`: `{status: "fulfilled", value}` or `{status: "rejected", reason}`.
fn outcome(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("__outcome", args, 1, 1)?;
    let (ok, value) = match args[0] {
        Value::Task(t) => {
            vm.observe(t);
            match vm.heap.tasks.get(t).outcome {
                Some(Outcome::Value(v)) => (true, v),
                Some(Outcome::Error(e) | Outcome::Cancelled(e)) => (false, e),
                None => (true, Value::Nil),
            }
        }
        other => (true, other),
    };
    let mut map = crate::object::Map::default();
    let status = vm.heap.alloc_str(if ok { "fulfilled" } else { "rejected" });
    map.insert(crate::object::Key::Str("status".into()), status);
    let key = if ok { "value" } else { "reason" };
    map.insert(crate::object::Key::Str(key.into()), value);
    Ok(vm.heap.alloc_map(map))
}

/// `__aggregate(ts)`: the `AggregateError` of `any` when every input failed.
fn aggregate(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("__aggregate", args, 1, 1)?;
    let list = check_list(vm, "__aggregate", args[0])?;
    let items = vm.heap.lists.get(list).clone();
    let mut errors = Vec::with_capacity(items.len());
    for item in &items {
        if let Value::Task(t) = *item {
            if let Some(Outcome::Error(e) | Outcome::Cancelled(e)) = vm.heap.tasks.get(t).outcome {
                errors.push(e);
            }
        }
    }
    let message = if items.is_empty() {
        "any() got no tasks".to_string()
    } else {
        format!("all {} tasks failed", items.len())
    };
    let list = vm.heap.alloc_list(errors);
    let name = vm.heap.intern("errors");
    let trace = vm.trace();
    Ok(vm.heap.alloc_error(ErrorObj {
        kind: Rc::from("AggregateError"),
        message: Rc::from(message),
        trace,
        fields: vec![(name, list)],
    }))
}

fn task_cancel(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("cancel", args, 0, 0)?;
    let t = task_of(vm, "cancel", args[0])?;
    Ok(Value::Bool(vm.cancel_task(t)))
}

fn task_done(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("done", args, 0, 0)?;
    let t = task_of(vm, "done", args[0])?;
    Ok(Value::Bool(vm.heap.tasks.get(t).state == TaskState::Done))
}

fn task_set_priority(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("set_priority", args, 1, 1)?;
    let t = task_of(vm, "set_priority", args[0])?;
    let name = check_str(vm, "set_priority", args[1])?;
    let Some(priority) = Priority::parse(vm.heap.str(name)) else {
        return Err(value_error(format!(
            "priority must be \"max\", \"high\", \"normal\" or \"low\", not \"{}\"",
            vm.heap.str(name)
        )));
    };
    vm.set_priority(t, priority);
    Ok(Value::Nil)
}

fn task_priority(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("priority", args, 0, 0)?;
    let t = task_of(vm, "priority", args[0])?;
    let name = vm.heap.tasks.get(t).priority.name();
    Ok(vm.heap.alloc_str(name))
}

fn chan_send(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("send", args, 1, 1)?;
    let ch = channel_of(vm, "send", args[0])?;
    vm.channel_send(ch, args[1])
}

fn chan_recv(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("recv", args, 0, 0)?;
    let ch = channel_of(vm, "recv", args[0])?;
    vm.channel_recv(ch, RecvMode::Plain)
}

fn chan_recv_ok(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("recv_ok", args, 0, 0)?;
    let ch = channel_of(vm, "recv_ok", args[0])?;
    vm.channel_recv(ch, RecvMode::Ok)
}

fn chan_close(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("close", args, 0, 0)?;
    let ch = channel_of(vm, "close", args[0])?;
    Ok(Value::Bool(vm.channel_close(ch)))
}

fn chan_len(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("len", args, 0, 0)?;
    let ch = channel_of(vm, "len", args[0])?;
    Ok(Value::Int(vm.heap.channels.get(ch).buffer.len() as i64))
}

fn chan_cap(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("cap", args, 0, 0)?;
    let ch = channel_of(vm, "cap", args[0])?;
    Ok(Value::Int(vm.heap.channels.get(ch).cap as i64))
}

fn chan_closed(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("closed", args, 0, 0)?;
    let ch = channel_of(vm, "closed", args[0])?;
    Ok(Value::Bool(vm.heap.channels.get(ch).closed))
}

fn scope_cancel(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("cancel", args, 0, 0)?;
    let s = scope_of(vm, "cancel", args[0])?;
    vm.cancel_scope(s);
    Ok(Value::Nil)
}

fn scope_cancelled(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("cancelled", args, 0, 0)?;
    let s = scope_of(vm, "cancelled", args[0])?;
    Ok(Value::Bool(vm.heap.scopes.get(s).cancelled))
}

/// `s.__set_deadline(ms)`: cancels the scope `ms` from now (at once when `ms <= 0`).
fn scope_set_deadline(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("__set_deadline", args, 1, 1)?;
    let s = scope_of(vm, "__set_deadline", args[0])?;
    let ms = check_num(vm, "timeout", args[1])?;
    if ms.is_nan() || ms <= 0.0 {
        vm.heap.scopes.get_mut(s).expired = true;
        vm.cancel_scope(s);
    } else {
        let at = vm.deadline_from_ms(ms);
        vm.deadline_at(s, at);
    }
    Ok(Value::Nil)
}

/// `s.__absorbed_deadline()`: the scope's own deadline cancelled its body (so `timeout` raises).
fn scope_absorbed_deadline(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("__absorbed_deadline", args, 0, 0)?;
    let s = scope_of(vm, "__absorbed_deadline", args[0])?;
    let scope = vm.heap.scopes.get(s);
    Ok(Value::Bool(scope.absorbed && scope.expired))
}

impl Vm {
    /// Whether a combinator waiting on `items` in `mode` can return now, and with what:
    /// `all`: the index of the earliest failure, or nil when all fulfilled; `settled`: nil when
    /// all finished; `race`: the index of the earliest to finish (plain values first, in input
    /// order); `any`: the index of the earliest success, or nil when all failed.
    pub(crate) fn combinator_decision(&self, items: &[Value], mode: CombineMode) -> Option<Value> {
        let mut all_done = true;
        let mut first_failed: Option<(u64, usize)> = None;
        let mut first_ok: Option<(u64, usize)> = None;
        for (i, &item) in items.iter().enumerate() {
            let Value::Task(t) = item else {
                // A plain value counts as fulfilled before any task.
                if first_ok.is_none_or(|(order, _)| order > 0) {
                    first_ok = Some((0, i));
                }
                continue;
            };
            let task = self.heap.tasks.get(t);
            match task.outcome {
                None => all_done = false,
                Some(Outcome::Value(_)) => {
                    if first_ok.is_none_or(|(order, _)| order > task.finished) {
                        first_ok = Some((task.finished, i));
                    }
                }
                Some(Outcome::Error(_) | Outcome::Cancelled(_)) => {
                    if first_failed.is_none_or(|(order, _)| order > task.finished) {
                        first_failed = Some((task.finished, i));
                    }
                }
            }
        }
        let index = |found: Option<(u64, usize)>| found.map(|(_, i)| Value::Int(i as i64));
        match mode {
            CombineMode::All => match first_failed {
                Some(_) => index(first_failed),
                None => all_done.then_some(Value::Nil),
            },
            CombineMode::Settled => all_done.then_some(Value::Nil),
            CombineMode::Race => {
                let first = match (first_ok, first_failed) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                index(first)
            }
            CombineMode::Any => match first_ok {
                Some(_) => index(first_ok),
                None => all_done.then_some(Value::Nil),
            },
        }
    }
}
