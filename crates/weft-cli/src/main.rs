//! The `weft` command: `run`, `check`, `test`, `disasm`, and a REPL when called without arguments.
//!
//! Exit codes follow LANGUAGE.md §10 (sysexits): 0 ok, 64 usage, 65 compile error, 66 unreadable
//! input file, 70 runtime error.

mod disasm;
mod repl;
mod report;
mod test_runner;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code for a compile error.
pub const EXIT_COMPILE: u8 = 65;
/// Exit code for an uncaught runtime error.
pub const EXIT_RUNTIME: u8 = 70;
/// Exit code for an input file that cannot be read.
pub const EXIT_NOINPUT: u8 = 66;
/// Exit code for bad usage.
pub const EXIT_USAGE: u8 = 64;

#[derive(Parser)]
#[command(name = "weft", version, about = "The Weft programming language")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a Weft program.
    Run {
        /// Run on virtual time: the clock starts at 0 and jumps to the next timer when no task
        /// is ready, so sleeps and timeouts take no real time.
        #[arg(long)]
        virtual_time: bool,
        /// Run time (ms) a cancelled task may keep going without reaching a checkpoint before it
        /// is interrupted at its next preemption point.
        #[arg(long, value_name = "MS", default_value_t = 100)]
        cancel_grace: u64,
        /// At most N unfinished tasks at once; a spawn beyond raises LimitExceeded.
        #[arg(long, value_name = "N")]
        max_tasks: Option<usize>,
        /// At most MB megabytes of heap (estimated at 64 bytes per object after a collection).
        #[arg(long, value_name = "MB")]
        max_memory: Option<usize>,
        /// The program fails with LimitExceeded after MS milliseconds (on the VM clock).
        #[arg(long, value_name = "MS")]
        deadline: Option<u64>,
        /// Allow reading files (`fs`), everywhere or only under the given comma-separated paths.
        #[arg(long, value_name = "PATHS", num_args = 0..=1, require_equals = true)]
        allow_read: Option<Option<String>>,
        /// Allow writing, creating and removing files (`fs`), everywhere or under the given paths.
        #[arg(long, value_name = "PATHS", num_args = 0..=1, require_equals = true)]
        allow_write: Option<Option<String>>,
        /// Allow listening and connecting (`net`), to any address or only the given `host:port`s.
        #[arg(long, value_name = "HOST:PORT", num_args = 0..=1, require_equals = true)]
        allow_net: Option<Option<String>>,
        /// Allow starting subprocesses (`process.run`).
        #[arg(long)]
        allow_run: bool,
        /// Allow reading environment variables (`os.env`).
        #[arg(long)]
        allow_env: bool,
        /// Allow everything a script can ask for.
        #[arg(long)]
        allow_all: bool,
        /// On SIGQUIT (Ctrl-\\), print every task and where it is waiting.
        #[arg(long)]
        dump_tasks_on_signal: bool,
        /// The program file.
        file: String,
        /// Arguments passed to the program (`os.args`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Compile a program and report every diagnostic, without running it.
    Check {
        /// The program file.
        file: String,
    },
    /// Run the `test_*` functions of every `*_test.weft` file under DIR, on virtual time.
    Test {
        /// Directory (or one file) to search; the current directory by default.
        #[arg(default_value = ".")]
        dir: String,
    },
    /// Print the bytecode of a program.
    Disasm {
        /// The program file.
        file: String,
    },
}

/// `--allow-read` (everything) or `--allow-read=a,b` (those paths), or nothing.
fn grant(flag: Option<Option<String>>) -> weft_vm::Grant {
    match flag {
        None => weft_vm::Grant::None,
        Some(None) => weft_vm::Grant::All,
        Some(Some(paths)) => weft_vm::Grant::paths(paths.split(',').filter(|p| !p.is_empty())),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        None => repl::run(),
        Some(Command::Run {
            file,
            args,
            virtual_time,
            dump_tasks_on_signal,
            cancel_grace,
            max_tasks,
            max_memory,
            deadline,
            allow_read,
            allow_write,
            allow_env,
            allow_run,
            allow_net,
            allow_all,
        }) => report::run_file(
            &file,
            args,
            &weft_runtime::Options {
                graceful_signals: true,
                virtual_time,
                dump_tasks_on_signal,
                cancel_grace: std::time::Duration::from_millis(cancel_grace),
                limits: weft_vm::Limits {
                    max_tasks,
                    max_memory: max_memory.map(|mb| mb * 1024 * 1024),
                    deadline: deadline.map(std::time::Duration::from_millis),
                },
                permissions: if allow_all {
                    weft_vm::Permissions::all()
                } else {
                    weft_vm::Permissions {
                        env: allow_env,
                        read: grant(allow_read),
                        write: grant(allow_write),
                        run: allow_run,
                        net: match allow_net {
                            None => weft_vm::NetGrant::None,
                            Some(None) => weft_vm::NetGrant::All,
                            Some(Some(list)) => weft_vm::NetGrant::Only(
                                list.split(',').map(str::to_string).collect(),
                            ),
                        },
                    }
                },
            },
        ),
        Some(Command::Check { file }) => report::check_file(&file),
        Some(Command::Test { dir }) => test_runner::run_tests(&dir),
        Some(Command::Disasm { file }) => disasm::disasm_file(&file),
    };
    ExitCode::from(code)
}
