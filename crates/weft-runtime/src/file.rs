//! Streaming files (`fs.open`): a table of open files by id. An operation takes its file out of
//! the table while it runs and puts it back when done, like the sockets of `net.rs`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use weft_vm::stdlib::{arg_count, check_int, check_str};
use weft_vm::{raise, Access, NativeClosure, Value, Vm, VmResult};

use crate::host_work::{Completion, HostWork};

/// An open file.
enum Open {
    Reader(BufReader<tokio::fs::File>),
    Writer(BufWriter<tokio::fs::File>),
}

#[derive(Default)]
struct Files {
    next: i64,
    open: HashMap<i64, Open>,
}

type Table = Rc<RefCell<Files>>;

/// Installs `__fs_open` and the file natives.
pub(crate) fn install(vm: &mut Vm, work: &Rc<HostWork>) {
    let table: Table = Rc::default();
    for (name, kind) in [
        ("__fs_open", Kind::Open),
        ("__fs_file_read_line", Kind::ReadLine),
        ("__fs_file_write", Kind::Write),
        ("__fs_file_close", Kind::Close),
    ] {
        let value = vm.native_closure(name, native(name, kind, work.clone(), table.clone()));
        vm.define_builtin(name, value);
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Open,
    ReadLine,
    Write,
    Close,
}

/// What a finished operation gives the script.
enum Done {
    Id(i64),
    Line(Option<String>),
    Nil,
}

fn native(name: &'static str, kind: Kind, work: Rc<HostWork>, table: Table) -> NativeClosure {
    Rc::new(move |vm: &mut Vm, args: &[Value]| -> VmResult<Value> {
        type Job = std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<Done>>>>;
        let job: Job = match kind {
            Kind::Open => {
                arg_count("fs.open", args, 2, 2)?;
                let path = check_str(vm, "fs.open", args[0])?;
                let path = vm.heap.str(path).to_string();
                let mode = check_str(vm, "fs.open", args[1])?;
                let mode = vm.heap.str(mode).to_string();
                let access = match mode.as_str() {
                    "r" => Access::Read,
                    "w" | "a" => Access::Write,
                    other => {
                        return Err(raise(
                            "ValueError",
                            format!(
                                "fs.open() mode must be \"r\", \"w\" or \"a\", not \"{other}\""
                            ),
                        ))
                    }
                };
                let resolved = vm.check_path(access, &path)?;
                let table = table.clone();
                Box::pin(async move {
                    let file = match mode.as_str() {
                        "r" => {
                            Open::Reader(BufReader::new(tokio::fs::File::open(&resolved).await?))
                        }
                        "w" => {
                            Open::Writer(BufWriter::new(tokio::fs::File::create(&resolved).await?))
                        }
                        _ => Open::Writer(BufWriter::new(
                            tokio::fs::OpenOptions::new()
                                .append(true)
                                .create(true)
                                .open(&resolved)
                                .await?,
                        )),
                    };
                    let mut t = table.borrow_mut();
                    t.next += 1;
                    let id = t.next;
                    t.open.insert(id, file);
                    Ok(Done::Id(id))
                })
            }
            Kind::ReadLine | Kind::Write | Kind::Close => {
                let count = if matches!(kind, Kind::Write) { 2 } else { 1 };
                arg_count(name, args, count, count)?;
                let id = check_int(vm, name, args[0])?;
                let text = match kind {
                    Kind::Write => {
                        let s = check_str(vm, name, args[1])?;
                        vm.heap.str(s).to_string()
                    }
                    _ => String::new(),
                };
                let mut file = table.borrow_mut().open.remove(&id).ok_or_else(|| {
                    raise("IOError", "the file is closed, or another task is using it")
                })?;
                let table = table.clone();
                Box::pin(async move {
                    let result = match (&mut file, kind) {
                        (Open::Reader(r), Kind::ReadLine) => {
                            let mut line = String::new();
                            r.read_line(&mut line).await.map(|got| {
                                Done::Line((got > 0).then(|| {
                                    let l = line.strip_suffix('\n').unwrap_or(&line);
                                    l.strip_suffix('\r').unwrap_or(l).to_string()
                                }))
                            })
                        }
                        (Open::Writer(w), Kind::Write) => {
                            w.write_all(text.as_bytes()).await.map(|()| Done::Nil)
                        }
                        (Open::Writer(w), Kind::Close) => w.flush().await.map(|()| Done::Nil),
                        (Open::Reader(_), Kind::Close) => Ok(Done::Nil),
                        (Open::Reader(_), _) => {
                            Err(std::io::Error::other("the file was opened for reading"))
                        }
                        (Open::Writer(_), _) => {
                            Err(std::io::Error::other("the file was opened for writing"))
                        }
                    };
                    if !matches!(kind, Kind::Close) {
                        table.borrow_mut().open.insert(id, file);
                    }
                    result
                })
            }
        };
        let (op, parked) = vm.park_on_host();
        work.start(op, async move {
            let result = job.await;
            Box::new(move |vm: &mut Vm| match result {
                Ok(Done::Id(id)) => Ok(Value::Int(id)),
                Ok(Done::Line(Some(line))) => Ok(vm.heap.alloc_str(line)),
                Ok(Done::Line(None)) | Ok(Done::Nil) => Ok(Value::Nil),
                Err(e) => Err(vm.new_error(
                    "IOError",
                    &format!("{}: {e}", name.trim_start_matches("__fs_")),
                )),
            }) as Completion
        });
        Err(parked)
    })
}
