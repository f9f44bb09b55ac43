//! A database host without the build: a mount namespace in which the checkout, root's home
//! (cargo, rustup) and LLVM (clang) are hidden under empty mounts, and what runs in it has
//! `PATH=/usr/bin:/bin` (root's tools add the sbin directories). A [`Node`](crate::Node) whose
//! `jail` is set runs its server in it; the package test installs with dpkg in it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The namespace, held open by a process of its own until dropped.
pub struct Jail {
    holder: Child,
}

impl Jail {
    /// A namespace with each directory of `hidden` covered by an empty tmpfs only root may
    /// enter (what is missing is skipped, a directory named twice covered once).
    pub fn new(hidden: &[&str]) -> Jail {
        let mut existing: Vec<&str> = hidden
            .iter()
            .copied()
            .filter(|d| std::path::Path::new(d).is_dir())
            .collect();
        existing.sort_unstable();
        existing.dedup();
        let mut holder = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
            .arg(
                "set -e; for d; do mount -t tmpfs -o size=1m,mode=0700 none \"$d\"; done; echo ready; exec sleep 86400",
            )
            .arg("sh")
            .args(&existing)
            .stdout(Stdio::piped())
            .spawn()
            .expect("run unshare");
        let mut line = String::new();
        BufReader::new(holder.stdout.take().expect("its stdout"))
            .read_line(&mut line)
            .expect("read from unshare");
        assert_eq!(line.trim(), "ready", "could not hide {existing:?}");
        Jail { holder }
    }

    /// The pid whose mount namespace this is.
    pub fn pid(&self) -> u32 {
        self.holder.id()
    }

    /// `program` run in the namespace as the postgres OS user with `PATH=/usr/bin:/bin`.
    pub fn as_postgres(&self, program: &str) -> Command {
        as_postgres_in(self.pid(), program)
    }

    /// `program` run in the namespace as root (dpkg), with the sbin directories on PATH.
    pub fn as_root(&self, program: &str) -> Command {
        let mut c = enter(self.pid());
        c.args([
            "env",
            "-i",
            "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG=C.UTF-8",
            program,
        ]);
        c
    }

    /// Runs a shell script in the namespace (as postgres or root): what it printed, and
    /// whether it succeeded.
    pub fn sh(&self, as_postgres: bool, script: &str) -> (bool, String) {
        let mut c = if as_postgres {
            self.as_postgres("sh")
        } else {
            self.as_root("sh")
        };
        let out = c.args(["-c", script]).output().expect("run sh in the jail");
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), printed)
    }
}

/// `program` run as the postgres OS user with `PATH=/usr/bin:/bin` in the mount namespace of
/// the process `pid` (a [`Jail`]'s).
pub fn as_postgres_in(pid: u32, program: &str) -> Command {
    let mut c = enter(pid);
    c.args([
        "runuser",
        "-u",
        "postgres",
        "--",
        "env",
        "-i",
        "PATH=/usr/bin:/bin",
        "LANG=C.UTF-8",
        program,
    ]);
    c
}

fn enter(pid: u32) -> Command {
    let mut c = Command::new("nsenter");
    c.args(["-t", &pid.to_string(), "-m", "--"]);
    c.current_dir("/");
    c
}

impl Drop for Jail {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}
