//! What a script may touch outside the VM (LANGUAGE.md §9). Nothing is allowed by default; the
//! command line (`--allow-env`, `--allow-all`) or the embedding host grants access. A denied
//! operation raises `PermissionDenied` naming the flag that would allow it.
//!
//! Today the environment (`os.env`) is the only outside resource scripts can reach; files,
//! network and subprocesses get their grants with the I/O modules (issue 4).

use crate::error::{raise, VmResult};
use crate::vm::Vm;

/// The grants of one VM.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions {
    /// `os.env` (`--allow-env`).
    pub env: bool,
}

impl Permissions {
    /// Everything allowed (`--allow-all`).
    pub fn all() -> Permissions {
        Permissions { env: true }
    }
}

impl Vm {
    /// Raises `PermissionDenied` unless reading the environment is allowed.
    pub(crate) fn check_env(&self, what: &str) -> VmResult<()> {
        if self.permissions.env {
            return Ok(());
        }
        Err(raise(
            "PermissionDenied",
            format!("{what} needs access to the environment: run with --allow-env"),
        ))
    }
}
