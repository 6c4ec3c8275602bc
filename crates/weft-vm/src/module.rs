//! `import`: standard modules by name, and file modules that run once and are cached by path.

use weft_syntax::SourceFile;

use crate::call::CallOutcome;
use crate::error::{raise, VmResult};
use crate::object::Str;
use crate::value::{Handle, Value};
use crate::vm::{FrameKind, Vm};

/// Standard modules written in Weft: compiled and run the first time they are imported.
const WEFT_MODULES: &[(&str, &str)] = &[("supervision", include_str!("stdlib/supervision.weft"))];

impl Vm {
    /// Makes `import name` load a module written in Weft (compiled the first time it is
    /// imported); used by the runtime for modules that wrap its natives.
    pub fn register_weft_module(&mut self, name: &str, source: &'static str) {
        self.weft_modules.insert(name.to_string(), source);
    }

    /// Loads a standard module written in Weft: a frame runs its top level, like a file module.
    fn import_weft_module(
        &mut self,
        slot: usize,
        name: &str,
        source: &str,
    ) -> VmResult<CallOutcome> {
        let file = SourceFile::new(format!("<{name}>"), source);
        let module = self.new_module(name);
        self.std_modules.insert(name.to_string(), module);
        let main = self
            .compile(module, file, false)
            .unwrap_or_else(|diags| panic!("standard module {name} does not compile: {diags:?}"));
        self.push_frame(&main, None, slot, FrameKind::ModuleInit(module))
    }

    /// Imports `name` into `stack[slot]`; a file module not yet loaded gets a frame running its top level.
    pub(crate) fn import(&mut self, slot: usize, name: Handle<Str>) -> VmResult<CallOutcome> {
        let text = self.heap.str(name).to_string();
        if let Some(&id) = self.std_modules.get(&text) {
            self.stack[slot] = Value::Module(id);
            return Ok(CallOutcome::Done);
        }
        let source = WEFT_MODULES
            .iter()
            .find(|(name, _)| *name == text)
            .map(|&(_, source)| source)
            .or_else(|| self.weft_modules.get(&text).copied());
        if let Some(source) = source {
            return self.import_weft_module(slot, &text, source);
        }
        if !text.contains('/') && !text.ends_with(".weft") {
            return Err(raise("ImportError", format!("unknown module '{text}'")));
        }
        let path = self.current_dir().join(&text);
        let canonical = std::fs::canonicalize(&path)
            .map_err(|e| raise("IOError", format!("cannot import '{text}': {e}")))?;
        if let Some(&id) = self.file_modules.get(&canonical) {
            self.stack[slot] = Value::Module(id);
            return Ok(CallOutcome::Done);
        }
        let source = std::fs::read_to_string(&canonical)
            .map_err(|e| raise("IOError", format!("cannot import '{text}': {e}")))?;
        let shown = path.to_string_lossy().trim_start_matches("./").to_string();
        let file = SourceFile::new(shown.clone(), source);
        let module = self.new_module(&shown);
        // Cached before it runs, so a cyclic import sees the partly initialised module instead of looping.
        self.file_modules.insert(canonical, module);
        match self.compile(module, file.clone(), false) {
            Ok(main) => self.push_frame(&main, None, slot, FrameKind::ModuleInit(module)),
            Err(diags) => {
                let rendered: String = diags.iter().map(|d| d.render(&file)).collect();
                Err(raise(
                    "ImportError",
                    format!("cannot compile '{text}':\n{}", rendered.trim_end()),
                ))
            }
        }
    }
}
