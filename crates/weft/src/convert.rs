//! Converting between Rust values and Weft values, for host functions and results.
//!
//! [`FromWeft`] takes a Rust value out of a Weft value (with a `TypeError` naming the function when
//! it does not fit); [`IntoWeft`] makes a Weft value from a Rust one. [`HostFn`] turns a Rust
//! closure whose parameters implement `FromWeft` into a native function, so
//! `vm.register_fn("add", |a: i64, b: i64| a + b)` checks and converts its arguments itself.

use weft_vm::{type_error, Value, VmResult};

use crate::Core;

/// A Rust type a Weft value converts to.
///
/// ```
/// let mut vm = weft::Vm::new();
/// let v = vm.eval("[1.5, nil]").unwrap();
/// assert_eq!(vm.extract::<Vec<Option<f64>>>(v), Some(vec![Some(1.5), None]));
/// assert_eq!(vm.extract::<String>(v), None);
/// ```
pub trait FromWeft: Sized {
    /// What the type is called in error messages.
    const NAME: &'static str;
    /// The conversion, or `None` when the value does not fit.
    fn from_weft(vm: &Core, value: Value) -> Option<Self>;
}

/// A Rust type that converts to a Weft value.
///
/// ```
/// let mut vm = weft::Vm::new();
/// let v = vm.value(Some("text".to_string()));
/// assert_eq!(vm.display(v), "text");
/// ```
pub trait IntoWeft {
    /// The conversion (may allocate on the VM's heap).
    fn into_weft(self, vm: &mut Core) -> Value;
}

impl FromWeft for Value {
    const NAME: &'static str = "any value";
    fn from_weft(_: &Core, value: Value) -> Option<Self> {
        Some(value)
    }
}

impl FromWeft for i64 {
    const NAME: &'static str = "int";
    fn from_weft(_: &Core, value: Value) -> Option<Self> {
        match value {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }
}

impl FromWeft for f64 {
    const NAME: &'static str = "int or float";
    fn from_weft(_: &Core, value: Value) -> Option<Self> {
        match value {
            Value::Int(i) => Some(i as f64),
            Value::Float(f) => Some(f),
            _ => None,
        }
    }
}

impl FromWeft for bool {
    const NAME: &'static str = "bool";
    fn from_weft(_: &Core, value: Value) -> Option<Self> {
        match value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }
}

impl FromWeft for String {
    const NAME: &'static str = "string";
    fn from_weft(vm: &Core, value: Value) -> Option<Self> {
        match value {
            Value::Str(s) => Some(vm.heap.str(s).to_string()),
            _ => None,
        }
    }
}

impl<T: FromWeft> FromWeft for Vec<T> {
    const NAME: &'static str = "list";
    fn from_weft(vm: &Core, value: Value) -> Option<Self> {
        match value {
            Value::List(l) => vm
                .heap
                .lists
                .get(l)
                .iter()
                .map(|&v| T::from_weft(vm, v))
                .collect(),
            _ => None,
        }
    }
}

impl<T: FromWeft> FromWeft for Option<T> {
    const NAME: &'static str = T::NAME;
    fn from_weft(vm: &Core, value: Value) -> Option<Self> {
        match value {
            Value::Nil => Some(None),
            other => T::from_weft(vm, other).map(Some),
        }
    }
}

impl IntoWeft for Value {
    fn into_weft(self, _: &mut Core) -> Value {
        self
    }
}

impl IntoWeft for () {
    fn into_weft(self, _: &mut Core) -> Value {
        Value::Nil
    }
}

impl IntoWeft for i64 {
    fn into_weft(self, _: &mut Core) -> Value {
        Value::Int(self)
    }
}

impl IntoWeft for i32 {
    fn into_weft(self, _: &mut Core) -> Value {
        Value::Int(self as i64)
    }
}

impl IntoWeft for usize {
    fn into_weft(self, _: &mut Core) -> Value {
        Value::Int(self as i64)
    }
}

impl IntoWeft for f64 {
    fn into_weft(self, _: &mut Core) -> Value {
        Value::Float(self)
    }
}

impl IntoWeft for bool {
    fn into_weft(self, _: &mut Core) -> Value {
        Value::Bool(self)
    }
}

impl IntoWeft for String {
    fn into_weft(self, vm: &mut Core) -> Value {
        vm.heap.alloc_str(self)
    }
}

impl IntoWeft for &str {
    fn into_weft(self, vm: &mut Core) -> Value {
        vm.heap.alloc_str(self)
    }
}

impl<T: IntoWeft> IntoWeft for Vec<T> {
    fn into_weft(self, vm: &mut Core) -> Value {
        let items: Vec<Value> = self.into_iter().map(|v| v.into_weft(vm)).collect();
        vm.heap.alloc_list(items)
    }
}

impl<T: IntoWeft> IntoWeft for Option<T> {
    fn into_weft(self, vm: &mut Core) -> Value {
        match self {
            Some(v) => v.into_weft(vm),
            None => Value::Nil,
        }
    }
}

/// A host function's failure, which becomes a Weft error value (`kind: message`).
///
/// ```
/// let mut vm = weft::Vm::new();
/// vm.register_fn("deny", || -> Result<i64, weft::HostError> {
///     Err(weft::HostError::new("PermissionDenied", "not for you"))
/// });
/// let v = vm.eval("try { deny() } catch e { e.kind }").unwrap();
/// assert_eq!(vm.display(v), "PermissionDenied");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError {
    /// The error kind scripts see (`e.kind`), e.g. `ValueError`.
    pub kind: String,
    /// The message.
    pub message: String,
}

impl HostError {
    /// A host error of `kind`.
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> HostError {
        HostError {
            kind: kind.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for HostError {}

/// What a host function returns: a value, or a `Result` whose `Err` is raised in the calling
/// task as a Weft error.
pub trait HostReturn {
    /// The Weft result.
    fn into_result(self, vm: &mut Core) -> VmResult<Value>;
}

macro_rules! host_return {
    ($($t:ty),*) => {
        $(impl HostReturn for $t {
            fn into_result(self, vm: &mut Core) -> VmResult<Value> {
                Ok(self.into_weft(vm))
            }
        })*
    };
}

host_return!(Value, (), i64, i32, usize, f64, bool, String, &str);

impl<T: IntoWeft> HostReturn for Vec<T> {
    fn into_result(self, vm: &mut Core) -> VmResult<Value> {
        Ok(self.into_weft(vm))
    }
}

impl<T: IntoWeft> HostReturn for Option<T> {
    fn into_result(self, vm: &mut Core) -> VmResult<Value> {
        Ok(self.into_weft(vm))
    }
}

impl<T: IntoWeft> HostReturn for Result<T, HostError> {
    fn into_result(self, vm: &mut Core) -> VmResult<Value> {
        host_result(vm, self)
    }
}

/// Converts the host's result into the script's: `Err` raises `kind: message`.
pub(crate) fn host_result<T: IntoWeft>(
    vm: &mut Core,
    result: Result<T, HostError>,
) -> VmResult<Value> {
    match result {
        Ok(v) => Ok(v.into_weft(vm)),
        Err(e) => Err(weft_vm::raise(&e.kind, e.message)),
    }
}

/// The argument `i` of `name`, converted, or a `TypeError` saying what was expected.
pub(crate) fn arg<T: FromWeft>(vm: &Core, name: &str, args: &[Value], i: usize) -> VmResult<T> {
    let value = args.get(i).copied().unwrap_or(Value::Nil);
    T::from_weft(vm, value).ok_or_else(|| {
        type_error(format!(
            "{name}() argument {} must be {}, not {}",
            i + 1,
            T::NAME,
            vm.type_name(value)
        ))
    })
}

/// Checks the argument count of host function `name`.
pub(crate) fn arity(name: &str, args: &[Value], n: usize) -> VmResult<()> {
    if args.len() == n {
        return Ok(());
    }
    Err(type_error(format!(
        "{name}() takes {n} argument{} but {} were given",
        if n == 1 { "" } else { "s" },
        args.len()
    )))
}

/// A Rust closure usable as a Weft function (see [`Vm::register_fn`](crate::Vm::register_fn)): its parameters are converted with [`FromWeft`]
/// and its result with [`HostReturn`]. Implemented for closures of up to four parameters.
pub trait HostFn<Args>: 'static {
    /// Calls the closure with the script's arguments.
    fn call(&self, vm: &mut Core, name: &str, args: &[Value]) -> VmResult<Value>;
}

macro_rules! host_fn {
    ($($arg:ident : $i:tt),*) => {
        impl<F, R, $($arg),*> HostFn<($($arg,)*)> for F
        where
            F: Fn($($arg),*) -> R + 'static,
            R: HostReturn,
            $($arg: FromWeft,)*
        {
            #[allow(unused_variables)]
            fn call(&self, vm: &mut Core, name: &str, args: &[Value]) -> VmResult<Value> {
                arity(name, args, <[usize]>::len(&[$($i),*]))?;
                let result = self($(arg::<$arg>(vm, name, args, $i)?),*);
                result.into_result(vm)
            }
        }
    };
}

host_fn!();
host_fn!(A: 0);
host_fn!(A: 0, B: 1);
host_fn!(A: 0, B: 1, C: 2);
host_fn!(A: 0, B: 1, C: 2, D: 3);
