//! Native methods of lists, and the sort order shared by `sort`, `sort_by` and `min`/`max`.
//! Methods that call back into Weft (`map`, `filter`, `reduce`, `any`, `all`, `sort_by`) live in
//! `prelude.weft`.

use std::cmp::Ordering;

use super::args::{check_int, check_list, method_args, opt_arg, register};
use crate::access::{normalize_index, slice_bounds};
use crate::error::{raise, type_error, value_error, Exc, VmResult};
use crate::heap::Heap;
use crate::object::List;
use crate::value::{Handle, Value};
use crate::vm::{NativeFn, TypeTag, Vm};

/// Installs the list methods.
pub fn install(vm: &mut Vm) {
    let methods: [(&'static str, NativeFn); 23] = [
        ("list.push", push),
        ("list.pop", pop),
        ("list.insert", insert),
        ("list.remove", remove),
        ("list.len", len),
        ("list.is_empty", is_empty),
        ("list.clear", clear),
        ("list.extend", extend),
        ("list.copy", copy),
        ("list.sort", sort),
        ("list.reverse", reverse),
        ("list.contains", contains),
        ("list.index_of", index_of),
        ("list.slice", slice),
        ("list.join", join),
        ("list.concat", concat),
        ("list.first", first),
        ("list.last", last),
        ("list.enumerate", enumerate),
        ("list.zip", zip),
        ("list.min", min),
        ("list.max", max),
        ("list.sum", sum),
    ];
    for (name, func) in methods {
        register(vm, TypeTag::List, name, func);
    }
}

/// The receiver list.
fn this(vm: &Vm, args: &[Value]) -> VmResult<Handle<List>> {
    match args.first() {
        Some(Value::List(l)) => Ok(*l),
        Some(other) => Err(type_error(format!(
            "expected a list receiver, not {}",
            vm.type_name(*other)
        ))),
        None => Err(type_error("missing receiver")),
    }
}

fn index_error(index: i64, len: usize) -> Exc {
    raise(
        "IndexError",
        format!("list index {index} out of range for length {len}"),
    )
}

/// `push(x)`: appends in place; returns nil.
fn push(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("list.push", args, 1, 1)?;
    let l = this(vm, args)?;
    vm.heap.account(1);
    vm.heap.lists.get_mut(l).push(args[1]);
    Ok(Value::Nil)
}

/// `pop(i = -1)`: removes and returns the element at `i`.
fn pop(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("list.pop", args, 0, 1)?;
    let l = this(vm, args)?;
    let index = match opt_arg(args, 1) {
        Some(i) => Some(check_int(vm, "list.pop", i)?),
        None => None,
    };
    let items = vm.heap.lists.get_mut(l);
    if items.is_empty() {
        return Err(raise("IndexError", "pop from empty list"));
    }
    match index {
        None => Ok(items.pop().unwrap_or_default()),
        Some(i) => match normalize_index(i, items.len()) {
            Some(at) => Ok(items.remove(at)),
            None => Err(index_error(i, items.len())),
        },
    }
}

/// `insert(i, x)`: inserts before index `i` (`i == len` appends; negative counts from the end).
fn insert(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("list.insert", args, 2, 2)?;
    let l = this(vm, args)?;
    let i = check_int(vm, "list.insert", args[1])?;
    let items = vm.heap.lists.get_mut(l);
    let len = items.len();
    let at = if i < 0 { i + len as i64 } else { i };
    if at < 0 || at > len as i64 {
        return Err(index_error(i, len));
    }
    items.insert(at as usize, args[2]);
    vm.heap.account(1);
    Ok(Value::Nil)
}

/// `remove(i)`: removes the element at index `i` and returns it.
fn remove(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("list.remove", args, 1, 1)?;
    let l = this(vm, args)?;
    let i = check_int(vm, "list.remove", args[1])?;
    let items = vm.heap.lists.get_mut(l);
    match normalize_index(i, items.len()) {
        Some(at) => Ok(items.remove(at)),
        None => Err(index_error(i, items.len())),
    }
}

fn len(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("list.len", args, 0, 0)?;
    let l = this(vm, args)?;
    Ok(Value::Int(vm.heap.lists.get(l).len() as i64))
}

fn is_empty(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("list.is_empty", args, 0, 0)?;
    let l = this(vm, args)?;
    Ok(Value::Bool(vm.heap.lists.get(l).is_empty()))
}

fn clear(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("list.clear", args, 0, 0)?;
    let l = this(vm, args)?;
    vm.heap.lists.get_mut(l).clear();
    Ok(Value::Nil)
}

/// `extend(xs)`: appends every value of an iterable in place.
fn extend(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("list.extend", args, 1, 1)?;
    let l = this(vm, args)?;
    let items = vm.iterate(args[1])?;
    vm.heap.account(items.len());
    vm.heap.lists.get_mut(l).extend(items);
    Ok(Value::Nil)
}

/// `copy()`: a shallow copy.
fn copy(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("list.copy", args, 0, 0)?;
    let l = this(vm, args)?;
    let items = vm.heap.lists.get(l).clone();
    Ok(vm.heap.alloc_list(items))
}

fn is_number(v: Value) -> bool {
    matches!(v, Value::Int(_) | Value::Float(_))
}

/// Checks that `items` can be sorted: all numbers or all strings (fewer than two always can).
pub(crate) fn check_sortable(vm: &Vm, items: &[Value]) -> VmResult<()> {
    let Some(&first) = items.first() else {
        return Ok(());
    };
    let same_kind: fn(Value) -> bool = match first {
        Value::Int(_) | Value::Float(_) => is_number,
        Value::Str(_) => |v| matches!(v, Value::Str(_)),
        _ if items.len() < 2 => return Ok(()),
        _ => {
            return Err(type_error(format!(
                "cannot compare {} and {}",
                vm.type_name(first),
                vm.type_name(items[1])
            )))
        }
    };
    match items.iter().find(|v| !same_kind(**v)) {
        Some(&other) => Err(type_error(format!(
            "cannot compare {} and {}",
            vm.type_name(first),
            vm.type_name(other)
        ))),
        None => Ok(()),
    }
}

/// Exact comparison of an int with a (non-NaN) float.
fn cmp_int_float(i: i64, f: f64) -> Ordering {
    // 2^63 as f64: every float at or above it is larger than any i64.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f >= TWO_63 {
        return Ordering::Less;
    }
    if f < -TWO_63 {
        return Ordering::Greater;
    }
    let floor = f.floor();
    match i.cmp(&(floor as i64)) {
        Ordering::Equal if f > floor => Ordering::Less,
        other => other,
    }
}

/// A total order on values that passed [`check_sortable`]: numbers exactly (NaN last), strings by
/// code point. Values of other kinds compare equal.
pub(crate) fn sort_order(heap: &Heap, a: Value, b: Value) -> Ordering {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(&y),
        (Value::Float(x), Value::Float(y)) => match (x.is_nan(), y.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        },
        (Value::Int(x), Value::Float(y)) => {
            if y.is_nan() {
                Ordering::Less
            } else {
                cmp_int_float(x, y)
            }
        }
        (Value::Float(x), Value::Int(y)) => {
            if x.is_nan() {
                Ordering::Greater
            } else {
                cmp_int_float(y, x).reverse()
            }
        }
        (Value::Str(x), Value::Str(y)) => heap.str(x).as_bytes().cmp(heap.str(y).as_bytes()),
        _ => Ordering::Equal,
    }
}

/// `sort()`: sorts numbers or strings ascending, in place (stable); returns nil.
fn sort(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("list.sort", args, 0, 0)?;
    let l = this(vm, args)?;
    check_sortable(vm, vm.heap.lists.get(l))?;
    let mut items = std::mem::take(vm.heap.lists.get_mut(l));
    if items.iter().all(|v| matches!(v, Value::Int(_))) {
        // Equal ints cannot be told apart, so stability is unobservable here, and the unstable
        // sort needs no buffer of half the list.
        items.sort_unstable_by_key(|v| if let Value::Int(i) = v { *i } else { 0 });
    } else {
        items.sort_by(|a, b| sort_order(&vm.heap, *a, *b));
    }
    *vm.heap.lists.get_mut(l) = items;
    Ok(Value::Nil)
}

/// Prelude helper `__sort_by_keys(list, keys)`: sorts `list` in place by the precomputed `keys`.
pub(crate) fn sort_by_keys(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    let (Some(&Value::List(l)), Some(&Value::List(k))) = (args.first(), args.get(1)) else {
        return Err(type_error("__sort_by_keys() needs two lists"));
    };
    let keys = vm.heap.lists.get(k).clone();
    check_sortable(vm, &keys)?;
    let items = vm.heap.lists.get(l);
    if items.len() != keys.len() {
        return Err(value_error("list changed size during sort_by"));
    }
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by(|&a, &b| sort_order(&vm.heap, keys[a], keys[b]));
    let sorted: List = order.iter().map(|&i| items[i]).collect();
    *vm.heap.lists.get_mut(l) = sorted;
    Ok(Value::Nil)
}

/// Prelude helper `__arity(f)`: the number of fixed parameters of a closure (natives count as 1).
pub(crate) fn arity(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    let mut f = args.first().copied().unwrap_or_default();
    if let Value::Bound(b) = f {
        f = vm.heap.bounds.get(b).method;
    }
    Ok(Value::Int(match f {
        Value::Func(c) => {
            let p = &vm.heap.closures.get(c).proto.proto;
            (p.params.len() - usize::from(p.has_rest)) as i64
        }
        Value::Native(_) => 1,
        _ => -1,
    }))
}

/// `reverse()`: in place; returns nil.
fn reverse(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("list.reverse", args, 0, 0)?;
    let l = this(vm, args)?;
    vm.heap.lists.get_mut(l).reverse();
    Ok(Value::Nil)
}

fn position(vm: &Vm, l: Handle<List>, needle: Value) -> Option<usize> {
    vm.heap
        .lists
        .get(l)
        .iter()
        .position(|x| vm.equal(*x, needle))
}

/// `contains(x)`: whether an element `== x`.
fn contains(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("list.contains", args, 1, 1)?;
    let l = this(vm, args)?;
    Ok(Value::Bool(position(vm, l, args[1]).is_some()))
}

/// `index_of(x)`: index of the first element `== x`, or -1.
fn index_of(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("list.index_of", args, 1, 1)?;
    let l = this(vm, args)?;
    Ok(Value::Int(
        position(vm, l, args[1]).map_or(-1, |i| i as i64),
    ))
}

/// `slice(a, b = len)`: a copy of `xs[a..b]` (negative indices count from the end; clamped).
fn slice(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("list.slice", args, 1, 2)?;
    let l = this(vm, args)?;
    let start = check_int(vm, "list.slice", args[1])?;
    let end = match opt_arg(args, 2) {
        None | Some(Value::Nil) => None,
        Some(e) => Some(check_int(vm, "list.slice", e)?),
    };
    let items = vm.heap.lists.get(l);
    let (from, to) = slice_bounds(Some(start), end, false, items.len());
    let part = items[from..to].to_vec();
    Ok(vm.heap.alloc_list(part))
}

/// `join(sep = "")`: the elements converted with `str`, with `sep` between them.
fn join(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("list.join", args, 0, 1)?;
    let l = this(vm, args)?;
    let sep = match opt_arg(args, 1) {
        None => crate::text::Text::default(),
        Some(s) => {
            let s = super::args::check_str(vm, "list.join", s)?;
            vm.heap.str(s).clone()
        }
    };
    let text = super::strings::join_values(vm, vm.heap.lists.get(l), &sep);
    Ok(vm.heap.alloc_str(text))
}

/// `concat(other)`: a new list with the elements of both.
fn concat(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("list.concat", args, 1, 1)?;
    let l = this(vm, args)?;
    let other = check_list(vm, "list.concat", args[1])?;
    let mut items = vm.heap.lists.get(l).clone();
    items.extend_from_slice(vm.heap.lists.get(other));
    Ok(vm.heap.alloc_list(items))
}

/// `first()`: the first element, or nil when empty.
fn first(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("list.first", args, 0, 0)?;
    let l = this(vm, args)?;
    Ok(vm.heap.lists.get(l).first().copied().unwrap_or_default())
}

/// `last()`: the last element, or nil when empty.
fn last(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("list.last", args, 0, 0)?;
    let l = this(vm, args)?;
    Ok(vm.heap.lists.get(l).last().copied().unwrap_or_default())
}

/// `enumerate()`: a list of `[index, element]` pairs.
fn enumerate(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("list.enumerate", args, 0, 0)?;
    let l = this(vm, args)?;
    let items = vm.heap.lists.get(l).clone();
    let pairs: List = items
        .into_iter()
        .enumerate()
        .map(|(i, x)| vm.heap.alloc_list(vec![Value::Int(i as i64), x]))
        .collect();
    Ok(vm.heap.alloc_list(pairs))
}

/// `zip(other)`: a list of `[a, b]` pairs, as long as the shorter of the two.
fn zip(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("list.zip", args, 1, 1)?;
    let l = this(vm, args)?;
    let other = match args[1] {
        Value::List(o) => vm.heap.lists.get(o).to_vec(),
        Value::Range(_) | Value::Str(_) => vm.iterate(args[1])?,
        v => {
            return Err(type_error(format!(
                "list.zip() argument must be list, not {}",
                vm.type_name(v)
            )))
        }
    };
    let items = vm.heap.lists.get(l).clone();
    let pairs: List = items
        .into_iter()
        .zip(other)
        .map(|(a, b)| vm.heap.alloc_list(vec![a, b]))
        .collect();
    Ok(vm.heap.alloc_list(pairs))
}

/// The smallest (or with `greatest`, largest) of `items` by the sort order; the first of equals.
pub(crate) fn extreme(vm: &Vm, name: &str, items: &[Value], greatest: bool) -> VmResult<Value> {
    check_sortable(vm, items)?;
    let Some(&first) = items.first() else {
        return Err(value_error(format!("{name}() of an empty list")));
    };
    let want = if greatest {
        Ordering::Greater
    } else {
        Ordering::Less
    };
    Ok(items.iter().skip(1).fold(first, |best, &x| {
        if sort_order(&vm.heap, x, best) == want {
            x
        } else {
            best
        }
    }))
}

/// `min()`: the smallest element (numbers or strings); ValueError when empty.
fn min(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("list.min", args, 0, 0)?;
    let l = this(vm, args)?;
    extreme(vm, "list.min", vm.heap.lists.get(l), false)
}

/// `max()`: the largest element (numbers or strings); ValueError when empty.
fn max(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("list.max", args, 0, 0)?;
    let l = this(vm, args)?;
    extreme(vm, "list.max", vm.heap.lists.get(l), true)
}

/// `sum()`: the sum of the numbers (0 when empty), with `+`'s rules (int overflow raises).
fn sum(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    method_args("list.sum", args, 0, 0)?;
    let l = this(vm, args)?;
    let items = vm.heap.lists.get(l).clone();
    let mut total = Value::Int(0);
    for x in items {
        if !is_number(x) {
            return Err(type_error(format!(
                "list.sum() elements must be int or float, not {}",
                vm.type_name(x)
            )));
        }
        total = vm.arith(crate::ops::Arith::Add, total, x)?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_float_order_is_exact_and_total() {
        let heap = Heap::new();
        let values = [
            Value::Float(-9.3e18),
            Value::Int(i64::MIN),
            Value::Int(-1),
            Value::Float(-0.5),
            Value::Int(0),
            Value::Float(0.0),
            Value::Float(0.5),
            Value::Float(9_007_199_254_740_992.0),
            Value::Int(9_007_199_254_740_993),
            Value::Int(i64::MAX),
            Value::Float(9.3e18),
            Value::Float(f64::INFINITY),
            Value::Float(f64::NAN),
        ];
        for (i, &a) in values.iter().enumerate() {
            for (j, &b) in values.iter().enumerate() {
                let got = sort_order(&heap, a, b);
                assert_eq!(
                    got,
                    sort_order(&heap, b, a).reverse(),
                    "antisymmetry of {a:?} {b:?}"
                );
                // Values are listed in ascending order except the equal pairs 0 / 0.0.
                let equal_pair = (i == 4 && j == 5) || (i == 5 && j == 4);
                let want = if equal_pair {
                    Ordering::Equal
                } else {
                    i.cmp(&j)
                };
                assert_eq!(got, want, "{a:?} vs {b:?}");
            }
        }
        // Among them: 2^53 + 1 (an int) is greater than 2^53 (a float) although they are equal as
        // f64, and -9.3e18 is below every int.
    }
}
