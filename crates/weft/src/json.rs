//! serde for Weft values, through `serde_json::Value`: [`to_value`] builds a Weft value from any
//! `Serialize` type, [`from_value`] reads any `Deserialize` type out of a Weft value. Maps become
//! JSON objects (keys as strings), lists arrays, ints and floats numbers; a value that contains
//! itself is an error rather than endless output.

use serde::de::DeserializeOwned;
use serde::Serialize;
use weft_vm::{value_error, Key, Value, VmResult};

use crate::{Core, Error, Vm};

/// A Weft value holding the data of `data`.
///
/// ```
/// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
/// struct Point { x: i64, y: i64 }
/// let mut vm = weft::Vm::new();
/// let v = weft::to_value(&mut vm, &Point { x: 1, y: 2 }).unwrap();
/// assert_eq!(vm.display(v), "{\"x\": 1, \"y\": 2}");
/// let back: Point = weft::from_value(&mut vm, v).unwrap();
/// assert_eq!(back, Point { x: 1, y: 2 });
/// ```
pub fn to_value<T: Serialize>(vm: &mut Vm, data: &T) -> Result<Value, Error> {
    let json = serde_json::to_value(data).map_err(|e| Error::Host(e.to_string()))?;
    Ok(from_json(vm.core(), &json))
}

/// Rust data of type `T` read from a Weft value.
pub fn from_value<T: DeserializeOwned>(vm: &mut Vm, value: Value) -> Result<T, Error> {
    let json = to_json(vm.core(), value).map_err(|e| match e {
        weft_vm::Exc::Raise(raised) => Error::Host(format!("{}: {}", raised.kind, raised.message)),
        _ => Error::Host("cannot convert the value".into()),
    })?;
    serde_json::from_value(json).map_err(|e| Error::Host(e.to_string()))
}

/// JSON from a Weft value; cycles and values JSON cannot hold (functions, tasks) are errors.
pub(crate) fn to_json(vm: &Core, value: Value) -> VmResult<serde_json::Value> {
    let mut path = Vec::new();
    to_json_in(vm, value, &mut path)
}

fn to_json_in(vm: &Core, value: Value, path: &mut Vec<(u8, u32)>) -> VmResult<serde_json::Value> {
    use serde_json::Value as J;
    let id = match value {
        Value::List(h) => Some((0, h.index())),
        Value::Map(h) => Some((1, h.index())),
        _ => None,
    };
    if let Some(id) = id {
        if path.contains(&id) {
            return Err(value_error("cannot convert a value that contains itself"));
        }
        path.push(id);
    }
    let json = match value {
        Value::Nil => J::Null,
        Value::Bool(b) => J::Bool(b),
        Value::Int(i) => J::from(i),
        Value::Float(f) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
        Value::Str(s) => J::String(vm.heap.str(s).to_string()),
        Value::List(l) => J::Array(
            vm.heap
                .lists
                .get(l)
                .clone()
                .into_iter()
                .map(|v| to_json_in(vm, v, path))
                .collect::<VmResult<_>>()?,
        ),
        Value::Map(m) => {
            let mut object = serde_json::Map::new();
            for (k, v) in vm.heap.maps.get(m).clone() {
                let key = match k {
                    Key::Str(s) => s.to_string(),
                    Key::Int(i) => i.to_string(),
                    Key::Bool(b) => b.to_string(),
                    Key::Nil => "nil".to_string(),
                    Key::Float(bits) => f64::from_bits(bits).to_string(),
                };
                object.insert(key, to_json_in(vm, v, path)?);
            }
            J::Object(object)
        }
        other => J::String(vm.display(other)),
    };
    if id.is_some() {
        path.pop();
    }
    Ok(json)
}

/// A Weft value from JSON.
pub(crate) fn from_json(vm: &mut Core, json: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match json {
        J::Null => Value::Nil,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => vm.heap.alloc_str(s.as_str()),
        J::Array(items) => {
            let items: Vec<Value> = items.iter().map(|j| from_json(vm, j)).collect();
            vm.heap.alloc_list(items)
        }
        J::Object(object) => {
            let mut map = weft_vm::Map::default();
            for (k, v) in object {
                let v = from_json(vm, v);
                map.insert(Key::Str(k.as_str().into()), v);
            }
            vm.heap.alloc_map(map)
        }
    }
}
