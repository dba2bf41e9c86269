//! Running external programs: echo the command line, run it, check its status.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};

use crate::Result;

/// The workspace root (the parent of the xtask crate); cargo runs from here.
///
/// `cargo run` sets `CARGO_MANIFEST_DIR` at run time; it is preferred to the compile-time value,
/// which is stale when a shared target directory serves several checkouts.
pub(crate) fn project_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir
        .parent()
        .expect("the xtask crate lives in a subdirectory of the workspace")
        .to_path_buf()
}

/// An environment variable set for a [`Cmd`].
#[derive(Debug, Clone)]
struct EnvVar {
    /// Variable name.
    key: OsString,
    /// Value given to the program.
    value: OsString,
    /// Value shown when the command is echoed (may hide a password).
    shown: String,
}

/// A command line to run, with the extra environment and directory it needs.
#[derive(Debug, Clone)]
pub(crate) struct Cmd {
    /// The program to execute.
    program: OsString,
    /// How the program is named when the command is echoed.
    shown_as: String,
    /// Arguments, in order.
    args: Vec<OsString>,
    /// Environment variables added to the inherited environment.
    envs: Vec<EnvVar>,
    /// Working directory; inherited when `None`.
    cwd: Option<PathBuf>,
}

impl Cmd {
    /// A command running `program` with no arguments yet.
    pub(crate) fn new(program: impl AsRef<OsStr>) -> Self {
        let program = program.as_ref().to_os_string();
        Self {
            shown_as: program.to_string_lossy().into_owned(),
            program,
            args: Vec::new(),
            envs: Vec::new(),
            cwd: None,
        }
    }

    /// `cargo` (the one running xtask, from `$CARGO`), run from the project root.
    pub(crate) fn cargo() -> Self {
        let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Self::new(program).current_dir(project_root());
        "cargo".clone_into(&mut cmd.shown_as);
        cmd
    }

    /// Appends one argument.
    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Appends several arguments.
    pub(crate) fn args<I>(mut self, args: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Sets an environment variable, echoed as is.
    pub(crate) fn env(self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        let shown = value.as_ref().to_string_lossy().into_owned();
        self.env_shown_as(key, value, shown)
    }

    /// Sets an environment variable, echoed as `shown` instead of its value.
    pub(crate) fn env_shown_as(
        mut self,
        key: impl AsRef<OsStr>,
        value: impl AsRef<OsStr>,
        shown: String,
    ) -> Self {
        self.envs.push(EnvVar {
            key: key.as_ref().to_os_string(),
            value: value.as_ref().to_os_string(),
            shown,
        });
        self
    }

    /// Runs the program in `dir`.
    pub(crate) fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Echoes the command, runs it with inherited stdio and fails unless it
    /// exits successfully.
    pub(crate) fn run(&self) -> Result {
        eprintln!("$ {self}");
        let status = self
            .command()
            .status()
            .map_err(|e| format!("could not run `{self}`: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`{self}` {}", describe(status)))
        }
    }

    /// Echoes the command and runs it with its output captured; returns its
    /// stdout, or an error that includes everything it printed.
    pub(crate) fn run_captured(&self) -> Result<String> {
        eprintln!("$ {self}");
        let output = self
            .command()
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("could not run `{self}`: {e}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() {
            Ok(stdout)
        } else {
            let stderr = String::from_utf8_lossy(&output.stderr);
            Err(format!(
                "`{self}` {}\n{}{}",
                describe(output.status),
                stdout,
                stderr
            ))
        }
    }

    /// Runs the command silently (no echo, output discarded); its stdout if it
    /// exited successfully. Used to probe for tools and facts.
    pub(crate) fn probe(&self) -> Option<String> {
        let output = self.command().stdin(Stdio::null()).output().ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// The equivalent [`Command`].
    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        for var in &self.envs {
            command.env(&var.key, &var.value);
        }
        if let Some(dir) = &self.cwd {
            command.current_dir(dir);
        }
        command
    }
}

impl fmt::Display for Cmd {
    /// A shell-like rendering: `KEY='value' program arg...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for var in &self.envs {
            write!(f, "{}={} ", var.key.to_string_lossy(), quote(&var.shown))?;
        }
        f.write_str(&quote(&self.shown_as))?;
        for arg in &self.args {
            write!(f, " {}", quote(&arg.to_string_lossy()))?;
        }
        Ok(())
    }
}

/// Quotes `word` for display the way a POSIX shell would need it.
pub(crate) fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// "exited with status N" or "was killed by a signal".
fn describe(status: ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exited with status {code}"),
        None => "was terminated by a signal".to_owned(),
    }
}
