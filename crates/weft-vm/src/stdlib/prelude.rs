//! The Weft half of the standard library: methods that take callbacks are written in Weft
//! (`prelude.weft`), because natives cannot call closures. The prelude runs once as a private
//! module while the VM is built; the methods of its classes are then copied into the method tables
//! of the built-in types.

use weft_syntax::SourceFile;

use super::lists;
use crate::value::Value;
use crate::vm::{Halt, TypeTag, Vm};

/// The prelude's source.
const SOURCE: &str = include_str!("prelude.weft");

/// Which prelude class provides methods for which built-in types, and which of its methods.
const CLASSES: &[(&str, TypeTag, Option<&[&str]>)] = &[
    ("list", TypeTag::List, None),
    (
        "list",
        TypeTag::Range,
        Some(&["map", "filter", "reduce", "any", "all", "find", "each"]),
    ),
];

/// Top-level prelude functions every module sees as builtins.
const FUNCTIONS: &[&str] = &["all", "all_settled", "race", "any", "timeout", "move_on"];

/// Compiles and runs the prelude, then installs its methods. Must run after the natives it uses
/// (`error`, list methods) are registered.
pub fn install(vm: &mut Vm) {
    let module = vm.new_module("<prelude>");
    let file = SourceFile::new("<prelude>", SOURCE);
    let main = match vm.compile(module, file, false) {
        Ok(main) => main,
        Err(diags) => panic!("the prelude does not compile: {diags:?}"),
    };
    let helpers = [
        ("__arity", vm.native("__arity", lists::arity)),
        (
            "__sort_by_keys",
            vm.native("__sort_by_keys", lists::sort_by_keys),
        ),
    ];
    for (name, value) in helpers {
        if let Some(slot) = vm.modules[module as usize].scope.lookup(name) {
            vm.modules[module as usize].globals[slot as usize] = value;
        }
    }
    vm.start(main);
    if let Halt::Error(e) = vm.run_to_end() {
        panic!("the prelude failed: {}", vm.display(e));
    }
    for &name in FUNCTIONS {
        let m = &vm.modules[module as usize];
        let value = m
            .scope
            .lookup(name)
            .map(|slot| m.globals[slot as usize])
            .unwrap_or_else(|| panic!("the prelude does not define {name}"));
        vm.define_builtin(name, value);
    }
    for &(class_name, tag, only) in CLASSES {
        let m = &vm.modules[module as usize];
        let Some(Value::Class(class)) = m
            .scope
            .lookup(class_name)
            .map(|slot| m.globals[slot as usize])
        else {
            panic!("the prelude does not define class {class_name}");
        };
        let methods: Vec<_> = vm
            .heap
            .classes
            .get(class)
            .methods
            .iter()
            .map(|(k, v)| (*k, *v))
            .collect();
        for (name, method) in methods {
            if only.is_none_or(|names| names.contains(&&**vm.heap.str(name))) {
                vm.methods.insert((tag, name), method);
            }
        }
    }
    vm.stack.clear();
    vm.frames.clear();
}
