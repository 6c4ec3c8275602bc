//! The `fs` module (LANGUAGE.md §8): files and folders on tokio. Each call parks its task while
//! the operation runs on tokio's blocking pool; every other task keeps running. Paths are checked
//! against the VM's permissions first (`--allow-read`, `--allow-write`); failures are `IOError`
//! with the path and the OS's message.
//!
//! Streaming files (`fs.open`) are in `file.rs`; `fs.weft` puts the module together.

use std::path::PathBuf;
use std::rc::Rc;

use weft_vm::stdlib::{arg_count, check_str};
use weft_vm::{type_error, Access, NativeClosure, Value, Vm, VmResult};

use crate::host_work::{Completion, HostWork};

/// What a finished file operation gives the script.
enum Done {
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
    Names(Vec<String>),
    Nil,
}

/// Installs `fs` with its operations going through `work`.
pub(crate) fn install(vm: &mut Vm, work: &Rc<HostWork>) {
    let ops: [(&str, Access, Op); 8] = [
        ("read_text", Access::Read, Op::ReadText),
        ("read_bytes", Access::Read, Op::ReadBytes),
        ("exists", Access::Read, Op::Exists),
        ("list_dir", Access::Read, Op::ListDir),
        ("write_text", Access::Write, Op::WriteText),
        ("append", Access::Write, Op::Append),
        ("mkdir", Access::Write, Op::Mkdir),
        ("remove", Access::Write, Op::Remove),
    ];
    for (name, access, op) in ops {
        let value = vm.native_closure(
            &format!("fs.{name}"),
            native(name, access, op, work.clone()),
        );
        vm.define_builtin(&format!("__fs_{name}"), value);
    }
    crate::file::install(vm, work);
    vm.register_weft_module("fs", include_str!("fs.weft"));
}

/// The file operations.
#[derive(Clone, Copy)]
enum Op {
    ReadText,
    ReadBytes,
    Exists,
    ListDir,
    WriteText,
    Append,
    Mkdir,
    Remove,
}

impl Op {
    /// Whether it takes a second argument (the text to write).
    fn takes_text(self) -> bool {
        matches!(self, Op::WriteText | Op::Append)
    }

    /// What the error message says it could not do.
    fn verb(self) -> &'static str {
        match self {
            Op::ReadText | Op::ReadBytes => "read",
            Op::Exists => "check",
            Op::ListDir => "list",
            Op::WriteText => "write",
            Op::Append => "append to",
            Op::Mkdir => "create",
            Op::Remove => "remove",
        }
    }

    async fn run(self, path: PathBuf, text: String) -> std::io::Result<Done> {
        use tokio::io::AsyncWriteExt;
        Ok(match self {
            Op::ReadText => Done::Text(tokio::fs::read_to_string(&path).await?),
            Op::ReadBytes => Done::Bytes(tokio::fs::read(&path).await?),
            Op::Exists => Done::Bool(tokio::fs::try_exists(&path).await?),
            Op::ListDir => {
                let mut entries = tokio::fs::read_dir(&path).await?;
                let mut names = Vec::new();
                while let Some(entry) = entries.next_entry().await? {
                    names.push(entry.file_name().to_string_lossy().into_owned());
                }
                names.sort();
                Done::Names(names)
            }
            Op::WriteText => {
                tokio::fs::write(&path, text).await?;
                Done::Nil
            }
            Op::Append => {
                let mut file = tokio::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(&path)
                    .await?;
                file.write_all(text.as_bytes()).await?;
                // tokio's `File` finishes a write on its blocking pool after `write_all` returns;
                // without waiting for it, a read right after `append` could miss the text (the
                // test `fs_reads_and_writes_real_files_within_its_grants` failed so, once in many
                // runs; tokio-rs/tokio#5531).
                file.flush().await?;
                Done::Nil
            }
            Op::Mkdir => {
                tokio::fs::create_dir_all(&path).await?;
                Done::Nil
            }
            Op::Remove => {
                if tokio::fs::metadata(&path).await?.is_dir() {
                    tokio::fs::remove_dir_all(&path).await?;
                } else {
                    tokio::fs::remove_file(&path).await?;
                }
                Done::Nil
            }
        })
    }
}

fn native(name: &'static str, access: Access, op: Op, work: Rc<HostWork>) -> NativeClosure {
    Rc::new(move |vm: &mut Vm, args: &[Value]| -> VmResult<Value> {
        let shown = format!("fs.{name}");
        let count = if op.takes_text() { 2 } else { 1 };
        arg_count(&shown, args, count, count)?;
        let path = check_str(vm, &shown, args[0])?;
        let path = vm.heap.str(path).to_string();
        let text = if op.takes_text() {
            match args[1] {
                Value::Str(s) => vm.heap.str(s).to_string(),
                other => {
                    return Err(type_error(format!(
                        "{shown}() argument 2 must be string, not {}",
                        vm.type_name(other)
                    )))
                }
            }
        } else {
            String::new()
        };
        let resolved = vm.check_path(access, &path)?;
        let (host_op, parked) = vm.park_on_host();
        work.start(host_op, async move {
            let result = op.run(resolved, text).await;
            Box::new(move |vm: &mut Vm| match result {
                Ok(done) => Ok(to_value(vm, done)),
                Err(e) => {
                    Err(vm.new_error("IOError", &format!("cannot {} '{path}': {e}", op.verb())))
                }
            }) as Completion
        });
        Err(parked)
    })
}

fn to_value(vm: &mut Vm, done: Done) -> Value {
    match done {
        Done::Text(text) => vm.heap.alloc_str(text),
        Done::Bytes(bytes) => {
            let items: Vec<Value> = bytes.into_iter().map(|b| Value::Int(b as i64)).collect();
            vm.heap.alloc_list(items)
        }
        Done::Bool(b) => Value::Bool(b),
        Done::Names(names) => {
            let items: Vec<Value> = names.into_iter().map(|n| vm.heap.alloc_str(n)).collect();
            vm.heap.alloc_list(items)
        }
        Done::Nil => Value::Nil,
    }
}
