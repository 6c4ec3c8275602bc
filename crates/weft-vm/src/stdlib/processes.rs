//! Process builtins (LANGUAGE.md §7.7): `t.send`, `link`, `unlink`, `monitor`, `demonitor`,
//! `trap_exit`, `exit`, `register`, `whereis`, `unregister`. The logic is in `process.rs`;
//! `receive` is compiled to instructions, and `import supervision` is written in Weft.

use super::args::{arg_count, check_str, method_args, register};
use crate::error::{type_error, VmResult};
use crate::value::{Handle, Value};
use crate::vm::{TypeTag, Vm};

/// Installs the process builtins and `t.send`.
pub fn install(vm: &mut Vm) {
    register(vm, TypeTag::Task, "task.send", send);
    vm.register_fn("link", link);
    vm.register_fn("unlink", unlink);
    vm.register_fn("monitor", monitor);
    vm.register_fn("demonitor", demonitor);
    vm.register_fn("trap_exit", trap_exit);
    vm.register_fn("exit", exit);
    vm.register_fn("register", register_name);
    vm.register_fn("whereis", whereis);
    vm.register_fn("unregister", unregister);
}

fn task_arg(vm: &Vm, name: &str, value: Value) -> VmResult<Handle<crate::task::Task>> {
    match value {
        Value::Task(t) => Ok(t),
        other => Err(type_error(format!(
            "{name}() argument must be task, not {}",
            vm.type_name(other)
        ))),
    }
}

fn send(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("send", args, 1, 1)?;
    let t = task_arg(vm, "send", args[0])?;
    vm.send_message(t, args[1]);
    Ok(Value::Nil)
}

fn link(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("link", args, 1, 1)?;
    let t = task_arg(vm, "link", args[0])?;
    vm.link(t);
    Ok(Value::Nil)
}

fn unlink(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("unlink", args, 1, 1)?;
    let t = task_arg(vm, "unlink", args[0])?;
    vm.unlink(t);
    Ok(Value::Nil)
}

fn monitor(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("monitor", args, 1, 1)?;
    let t = task_arg(vm, "monitor", args[0])?;
    Ok(vm.monitor(t))
}

fn demonitor(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("demonitor", args, 1, 1)?;
    match args[0] {
        Value::Int(reference) => Ok(Value::Bool(vm.demonitor(reference))),
        other => Err(type_error(format!(
            "demonitor() argument must be a monitor reference (int), not {}",
            vm.type_name(other)
        ))),
    }
}

fn trap_exit(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("trap_exit", args, 1, 1)?;
    Ok(Value::Bool(vm.trap_exit(args[0].truthy())))
}

fn exit(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("exit", args, 2, 2)?;
    let t = task_arg(vm, "exit", args[0])?;
    vm.exit(t, args[1])?;
    Ok(Value::Nil)
}

fn register_name(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("register", args, 2, 2)?;
    let name = check_str(vm, "register", args[0])?;
    let t = task_arg(vm, "register", args[1])?;
    let name = vm.heap.str(name).clone();
    vm.register(name, t)?;
    Ok(Value::Bool(true))
}

fn whereis(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("whereis", args, 1, 1)?;
    let name = check_str(vm, "whereis", args[0])?;
    let name = vm.heap.str(name).clone();
    Ok(vm.whereis(&name))
}

fn unregister(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("unregister", args, 1, 1)?;
    let name = check_str(vm, "unregister", args[0])?;
    let name = vm.heap.str(name).clone();
    Ok(Value::Bool(vm.unregister(&name)))
}
