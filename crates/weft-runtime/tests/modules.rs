//! Every module the runtime provides compiles and loads (the Weft-written ones are compiled only
//! when first imported, so a mistake in them would otherwise reach a user).

use weft_syntax::SourceFile;
use weft_vm::{Halt, Vm};

#[test]
fn every_runtime_module_imports() {
    let mut vm = Vm::new();
    vm.set_output(Box::new(std::io::sink()));
    let work = weft_runtime::install(&mut vm);
    let module = vm.new_module("<main>");
    let source = "import fs\nimport process\nimport net\nimport http\nimport supervision\n\
                  [type(fs.read_text), type(process.run), type(net.listen), type(http.get), type(supervision.start)]";
    let main = vm
        .compile(module, SourceFile::new("modules.weft", source), true)
        .expect("compiles");
    vm.start(main);
    match weft_runtime::run_blocking(&mut vm, &weft_runtime::Options::default(), &work) {
        Halt::Done(v) => assert_eq!(
            vm.display(v),
            "[\"function\", \"function\", \"function\", \"function\", \"function\"]"
        ),
        other => panic!("{other:?}"),
    }
}
