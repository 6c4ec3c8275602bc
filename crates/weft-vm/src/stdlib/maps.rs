//! Native methods of maps and ranges.

use super::args::{method_args, opt_arg, register};
use crate::error::{raise, type_error, VmResult};
use crate::object::{Key, List, Map, RangeObj};
use crate::value::{Handle, Value};
use crate::vm::{NativeFn, TypeTag, Vm};

/// Installs the map and range methods.
pub fn install(vm: &mut Vm) {
    let methods: [(&'static str, NativeFn); 11] = [
        ("map.get", get),
        ("map.set", set),
        ("map.keys", keys),
        ("map.values", values),
        ("map.items", items),
        ("map.contains", contains),
        ("map.remove", remove),
        ("map.len", len),
        ("map.is_empty", is_empty),
        ("map.clear", clear),
        ("map.copy", copy),
    ];
    for (name, func) in methods {
        register(vm, TypeTag::Map, name, func);
    }
    register(vm, TypeTag::Range, "range.len", range_len);
    register(vm, TypeTag::Range, "range.contains", range_contains);
    register(vm, TypeTag::Range, "range.to_list", range_to_list);
}

/// The receiver map.
fn this(vm: &Vm, args: &[Value]) -> VmResult<Handle<Map>> {
    match args.first() {
        Some(Value::Map(m)) => Ok(*m),
        Some(other) => Err(type_error(format!(
            "expected a map receiver, not {}",
            vm.type_name(*other)
        ))),
        None => Err(type_error("missing receiver")),
    }
}

/// `get(k, default = nil)`: the value under `k`, or `default`.
fn get(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("map.get", args, 1, 2)?;
    let m = this(vm, args)?;
    let key = vm.to_key(args[1])?;
    match vm.heap.maps.get(m).get(&key) {
        Some(&v) => Ok(v),
        None => Ok(opt_arg(args, 2).unwrap_or_default()),
    }
}

/// `set(k, v)`: inserts or updates; returns nil.
fn set(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("map.set", args, 2, 2)?;
    vm.set_index(args[0], args[1], args[2])?;
    Ok(Value::Nil)
}

fn entries(vm: &Vm, m: Handle<Map>) -> Vec<(Key, Value)> {
    vm.heap
        .maps
        .get(m)
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

/// `keys()`: the keys in insertion order.
fn keys(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("map.keys", args, 0, 0)?;
    let m = this(vm, args)?;
    let list: List = entries(vm, m)
        .iter()
        .map(|(k, _)| vm.key_value(k))
        .collect();
    Ok(vm.heap.alloc_list(list))
}

/// `values()`: the values in insertion order.
fn values(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("map.values", args, 0, 0)?;
    let m = this(vm, args)?;
    let list: List = vm.heap.maps.get(m).values().copied().collect();
    Ok(vm.heap.alloc_list(list))
}

/// `items()`: `[key, value]` pairs in insertion order.
fn items(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("map.items", args, 0, 0)?;
    let m = this(vm, args)?;
    let list: List = entries(vm, m)
        .iter()
        .map(|(k, v)| {
            let k = vm.key_value(k);
            vm.heap.alloc_list(vec![k, *v])
        })
        .collect();
    Ok(vm.heap.alloc_list(list))
}

/// `contains(k)`: whether `k` is a key.
fn contains(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("map.contains", args, 1, 1)?;
    let m = this(vm, args)?;
    let key = vm.to_key(args[1])?;
    Ok(Value::Bool(vm.heap.maps.get(m).contains_key(&key)))
}

/// `remove(k)`: deletes `k` and returns its value, or nil when absent; the rest keep their order.
fn remove(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("map.remove", args, 1, 1)?;
    let m = this(vm, args)?;
    let key = vm.to_key(args[1])?;
    Ok(vm.heap.maps.get_mut(m).remove(&key).unwrap_or_default())
}

fn len(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("map.len", args, 0, 0)?;
    let m = this(vm, args)?;
    Ok(Value::Int(vm.heap.maps.get(m).len() as i64))
}

fn is_empty(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("map.is_empty", args, 0, 0)?;
    let m = this(vm, args)?;
    Ok(Value::Bool(vm.heap.maps.get(m).is_empty()))
}

fn clear(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("map.clear", args, 0, 0)?;
    let m = this(vm, args)?;
    vm.heap.maps.get_mut(m).clear();
    Ok(Value::Nil)
}

/// `copy()`: a shallow copy.
fn copy(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("map.copy", args, 0, 0)?;
    let m = this(vm, args)?;
    let map = vm.heap.maps.get(m).clone();
    Ok(vm.heap.alloc_map(map))
}

/// The receiver range.
fn this_range(vm: &Vm, args: &[Value]) -> VmResult<RangeObj> {
    match args.first() {
        Some(Value::Range(r)) => Ok(*vm.heap.ranges.get(*r)),
        Some(other) => Err(type_error(format!(
            "expected a range receiver, not {}",
            vm.type_name(*other)
        ))),
        None => Err(type_error("missing receiver")),
    }
}

fn range_len(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("range.len", args, 0, 0)?;
    Ok(Value::Int(this_range(vm, args)?.len()))
}

/// Whether the range produces `x` (open bounds are unbounded on that side).
pub(crate) fn range_has(r: &RangeObj, x: i64) -> bool {
    if r.step == 0 {
        return false;
    }
    let (x, step) = (x as i128, r.step as i128);
    let start = r.start.map(i128::from);
    let end = r.end.map(i128::from);
    let within = if step > 0 {
        start.is_none_or(|s| x >= s) && end.is_none_or(|e| if r.inclusive { x <= e } else { x < e })
    } else {
        start.is_none_or(|s| x <= s) && end.is_none_or(|e| if r.inclusive { x >= e } else { x > e })
    };
    within && (x - start.unwrap_or(0)) % step == 0
}

/// `contains(x)`: whether iterating the range would produce `x` (ints, and floats with an int value).
fn range_contains(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("range.contains", args, 1, 1)?;
    let r = this_range(vm, args)?;
    let found = match args[1] {
        Value::Int(i) => range_has(&r, i),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => range_has(&r, f as i64),
        _ => false,
    };
    Ok(Value::Bool(found))
}

/// Longest range `to_list` converts.
const MAX_RANGE_LIST: i64 = 1 << 28;

/// `to_list()`: the values as a list.
fn range_to_list(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("range.to_list", args, 0, 0)?;
    if this_range(vm, args)?.len() > MAX_RANGE_LIST {
        return Err(raise(
            "LimitExceeded",
            "range is too long to convert to a list",
        ));
    }
    let items = vm.iterate(args[0])?;
    Ok(vm.heap.alloc_list(items))
}
