//! What a script may touch outside the VM (LANGUAGE.md §9). Nothing is allowed by default; the
//! command line (`--allow-read[=paths]`, `--allow-write[=paths]`, `--allow-net[=host:port,...]`,
//! `--allow-env`, `--allow-run`, `--allow-all`)
//! or the embedding host grants access. A denied operation raises `PermissionDenied` naming the
//! flag that would allow it.
//!
//! Paths are checked after resolving them the way the OS will: relative to the current directory,
//! with symlinks followed and `..` removed (for a path that does not exist yet, its deepest
//! existing ancestor is resolved), so neither `..` nor a symlink can lead out of a granted folder.

use std::path::{Component, Path, PathBuf};

use crate::error::{raise, VmResult};
use crate::vm::Vm;

/// Access to a kind of resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Grant {
    /// Not allowed.
    #[default]
    None,
    /// Allowed everywhere.
    All,
    /// Allowed inside these folders (or for these files), resolved.
    Paths(Vec<PathBuf>),
}

impl Grant {
    /// A grant for the given paths (`--allow-read=a,b`); they are resolved now.
    pub fn paths<I: IntoIterator<Item = P>, P: AsRef<Path>>(paths: I) -> Grant {
        Grant::Paths(paths.into_iter().map(|p| resolve(p.as_ref())).collect())
    }

    fn allows(&self, path: &Path) -> bool {
        match self {
            Grant::None => false,
            Grant::All => true,
            Grant::Paths(roots) => roots.iter().any(|root| path.starts_with(root)),
        }
    }
}

/// The grants of one VM.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions {
    /// `os.env` (`--allow-env`).
    pub env: bool,
    /// Reading files and listing folders (`--allow-read`).
    pub read: Grant,
    /// Writing, appending, creating and removing files and folders (`--allow-write`).
    pub write: Grant,
    /// Starting subprocesses (`--allow-run`).
    pub run: bool,
    /// Listening and connecting (`--allow-net[=host:port,...]`).
    pub net: NetGrant,
}

/// Network access.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NetGrant {
    /// Not allowed.
    #[default]
    None,
    /// Any host and port.
    All,
    /// Only these `host:port` addresses, or `host` for any port of it.
    Only(Vec<String>),
}

impl Permissions {
    /// Everything allowed (`--allow-all`).
    pub fn all() -> Permissions {
        Permissions {
            env: true,
            read: Grant::All,
            write: Grant::All,
            run: true,
            net: NetGrant::All,
        }
    }
}

/// What a file operation does, for its permission check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads.
    Read,
    /// Writes.
    Write,
}

/// `path` as the OS will resolve it: absolute, symlinks followed, no `.` or `..`.
pub fn resolve(path: &Path) -> PathBuf {
    let absolute = std::env::current_dir().unwrap_or_default().join(path);
    if let Ok(real) = std::fs::canonicalize(&absolute) {
        return real;
    }
    // Not there yet: resolve the deepest ancestor that exists, then apply the rest lexically.
    let mut rest = Vec::new();
    let mut base = absolute.as_path();
    let real_base = loop {
        match base.parent() {
            Some(parent) => {
                rest.push(base.file_name().map(PathBuf::from).unwrap_or_default());
                if let Ok(real) = std::fs::canonicalize(parent) {
                    break real;
                }
                base = parent;
            }
            None => break PathBuf::from("/"),
        }
    };
    let mut out = real_base;
    for part in rest.iter().rev() {
        for component in part.components() {
            match component {
                Component::ParentDir => {
                    out.pop();
                }
                Component::Normal(name) => out.push(name),
                _ => {}
            }
        }
    }
    out
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

    /// Raises `PermissionDenied` unless listening on or connecting to `host:port` is allowed.
    pub fn check_net(&self, host: &str, port: u16) -> VmResult<()> {
        let allowed = match &self.permissions.net {
            NetGrant::None => false,
            NetGrant::All => true,
            NetGrant::Only(addresses) => addresses
                .iter()
                .any(|a| *a == format!("{host}:{port}") || a == host),
        };
        if allowed {
            return Ok(());
        }
        Err(raise(
            "PermissionDenied",
            format!("network access to {host}:{port} is not allowed: run with --allow-net"),
        ))
    }

    /// Raises `PermissionDenied` unless starting subprocesses is allowed.
    pub fn check_run(&self, command: &str) -> VmResult<()> {
        if self.permissions.run {
            return Ok(());
        }
        Err(raise(
            "PermissionDenied",
            format!("running '{command}' is not allowed: run with --allow-run"),
        ))
    }

    /// The resolved path, or `PermissionDenied` naming the flag to add.
    pub fn check_path(&self, access: Access, path: &str) -> VmResult<PathBuf> {
        let resolved = resolve(Path::new(path));
        let (grant, verb, flag) = match access {
            Access::Read => (&self.permissions.read, "reading", "--allow-read"),
            Access::Write => (&self.permissions.write, "writing", "--allow-write"),
        };
        if grant.allows(&resolved) {
            return Ok(resolved);
        }
        Err(raise(
            "PermissionDenied",
            format!("{verb} '{path}' is not allowed: run with {flag}"),
        ))
    }
}
