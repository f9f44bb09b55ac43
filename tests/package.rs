//! The Debian packages of scripts/package.sh installed as a DBA installs them, on a host without
//! the build: every file the build installed into that PostgreSQL is set aside, and dpkg and the
//! cluster run in a [`Jail`] (the checkout, cargo, rustc and clang hidden; the server as postgres
//! with `PATH=/usr/bin:/bin`). With the package installed, a cluster that preloads the library
//! runs CREATE EXTENSION, `sync_date()` against the emulator and `sync_health()`; on 15, the
//! previous release's package (its commit's release build) then makes a database with data at
//! that version, the package is upgraded, the cluster restarted and ALTER EXTENSION UPDATE keeps
//! every row. `dpkg -r` removes every file the package installed, and what the build had
//! installed is put back, so the tiers run in any order.
//!
//! Needs the packages (`bash scripts/test.sh package` makes them): in `$PACKAGE_DIR`
//! (target/packages) the 15 and 18 packages of this version and the 15 package of the last
//! release.

use std::path::Path;
use std::sync::Mutex;

use baostock_emulator::{Emulator, EmulatorConfig};
use pg_baostock_cluster_tests::*;

const DB: &str = "postgres";

/// One dpkg at a time (the tests of this file run in threads).
static DPKG: Mutex<()> = Mutex::new(());

#[test]
fn the_15_package_installs_syncs_upgrades_from_the_last_release_and_removes_cleanly() {
    installed_from_packages(15, Some(&last_release()));
}

#[test]
fn the_18_package_installs_syncs_and_removes_cleanly() {
    installed_from_packages(18, None);
}

/// The package file of `major` and `version`.
fn package(major: u16, version: &str) -> String {
    let dir = std::env::var("PACKAGE_DIR").unwrap_or_else(|_| repo_path("target/packages"));
    let path = format!("{dir}/postgresql-{major}-pg-baostock_{version}_amd64.deb");
    assert!(
        Path::new(&path).exists(),
        "{path} is missing: make the packages first (bash scripts/test.sh package)"
    );
    path
}

/// The files of pg_baostock in a PostgreSQL's library and extension directories.
fn installed_files(libdir: &str, extdir: &str) -> Vec<String> {
    let mut files = Vec::new();
    for dir in [libdir, extdir] {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {dir}: {e}")) {
            let name = entry
                .expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            if name.starts_with("pg_baostock.") || name.starts_with("pg_baostock--") {
                files.push(format!("{dir}/{name}"));
            }
        }
    }
    files.sort();
    files
}

/// What the build installed into a PostgreSQL, set aside while the packages are tested and put
/// back when dropped (after anything a package left there is removed).
struct BuildAside {
    aside: String,
    moved: Vec<String>,
    libdir: String,
    extdir: String,
}

impl BuildAside {
    fn new(major: u16, libdir: &str, extdir: &str) -> BuildAside {
        let aside = format!("/var/tmp/pg_baostock-build-aside-{major}");
        let _ = std::fs::remove_dir_all(&aside);
        std::fs::create_dir_all(&aside).expect("make the aside directory");
        let moved = installed_files(libdir, extdir);
        for (i, f) in moved.iter().enumerate() {
            std::fs::rename(f, format!("{aside}/{i}")).unwrap_or_else(|e| panic!("set {f} aside: {e}"));
        }
        BuildAside {
            aside,
            moved,
            libdir: libdir.to_owned(),
            extdir: extdir.to_owned(),
        }
    }
}

impl Drop for BuildAside {
    fn drop(&mut self) {
        for f in installed_files(&self.libdir, &self.extdir) {
            let _ = std::fs::remove_file(f);
        }
        for (i, f) in self.moved.iter().enumerate() {
            if let Err(e) = std::fs::rename(format!("{}/{i}", self.aside), f) {
                eprintln!("could not put {f} back: {e}");
            }
        }
        let _ = std::fs::remove_dir_all(&self.aside);
    }
}

/// dpkg in the jail; the package removed when dropped if a failed test left it installed.
struct Dpkg<'a> {
    jail: &'a Jail,
    name: String,
    /// Where the .deb files are copied for dpkg in the jail to read (the checkout is hidden).
    dir: String,
}

impl Dpkg<'_> {
    fn run(&self, args: &[&str]) -> String {
        let out = self.jail.as_root("dpkg").args(args).output().expect("run dpkg");
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "dpkg {args:?}:\n{printed}");
        printed
    }

    fn install(&self, deb: &str) {
        let copy = format!("{}/{}", self.dir, Path::new(deb).file_name().unwrap().to_string_lossy());
        std::fs::copy(deb, &copy).unwrap_or_else(|e| panic!("copy {deb}: {e}"));
        println!("{}", self.run(&["-i", &copy]).trim_end());
    }

    /// The files (not directories) the package installed.
    fn files(&self) -> Vec<String> {
        self.run(&["-L", &self.name])
            .lines()
            .filter(|l| Path::new(l).is_file())
            .map(str::to_owned)
            .collect()
    }

    /// `dpkg -r`: every file of the package is gone after it.
    fn remove(&self) {
        let files = self.files();
        self.run(&["-r", &self.name]);
        let left: Vec<&String> = files.iter().filter(|f| Path::new(f).exists()).collect();
        assert!(left.is_empty(), "dpkg -r {} left {left:?}", self.name);
    }
}

impl Drop for Dpkg<'_> {
    fn drop(&mut self) {
        let (installed, _) = self.jail.sh(false, &format!("dpkg -s {} > /dev/null 2>&1", self.name));
        if installed {
            let _ = self.jail.as_root("dpkg").args(["-r", &self.name]).output();
        }
    }
}

fn installed_from_packages(major: u16, previous: Option<&str>) {
    let _one = DPKG.lock().unwrap_or_else(|e| e.into_inner());
    let version = this_version();
    let deb = package(major, &version);
    let previous_deb = previous.map(|v| package(major, v));
    let bin = node::pg_bin(major);
    let (libdir, extdir) = (
        pg_config(&bin, "pkglibdir"),
        format!("{}/extension", pg_config(&bin, "sharedir")),
    );
    let name = format!("postgresql-{major}-pg-baostock");

    let _build = BuildAside::new(major, &libdir, &extdir);
    assert_eq!(
        installed_files(&libdir, &extdir),
        Vec::<String>::new(),
        "the build's files set aside"
    );
    let root = std::fs::canonicalize(repo_path(""))
        .expect("the checkout")
        .to_string_lossy()
        .into_owned();
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".to_owned());
    let hidden = [
        root.as_str(),
        home.as_str(),
        "/root",
        "/usr/lib/llvm-14",
        "/var/tmp/pg_baostock-packages/target",
    ];
    let jail = Jail::new(&hidden);
    for as_postgres in [true, false] {
        let (_, seen) = jail.sh(
            as_postgres,
            &format!(
                "for p in cargo rustc clang; do command -v $p; done; test -e {root}/Cargo.toml && echo {root}; exit 0"
            ),
        );
        assert_eq!(seen.trim(), "", "the jail shows the build (as postgres: {as_postgres})");
    }

    let emu = Emulator::start(EmulatorConfig {
        codes: 300,
        ..EmulatorConfig::default()
    })
    .expect("start the emulator");
    let mut node = Node::create(
        &format!("package-{major}"),
        major,
        5470 + major,
        &[],
        &[
            "shared_preload_libraries = 'pg_baostock'",
            "baostock.host = '127.0.0.1'",
            &format!("baostock.port = {}", emu.addr().port()),
        ],
    );
    node.jail = Some(jail.pid());
    let dpkg = Dpkg {
        jail: &jail,
        name: name.clone(),
        dir: node.dir.clone(),
    };

    println!("==> dpkg -i {deb}");
    dpkg.install(&deb);
    let files = dpkg.files();
    let mut want = vec![
        format!("{libdir}/pg_baostock.so"),
        format!("{extdir}/pg_baostock.control"),
        format!("{extdir}/pg_baostock--{version}.sql"),
        format!("/usr/share/doc/{name}/copyright"),
    ];
    for entry in std::fs::read_dir(repo_path("sql")).expect("read sql/") {
        let f = entry.expect("an entry").file_name().to_string_lossy().into_owned();
        if f.starts_with("pg_baostock--") && f.matches("--").count() == 2 {
            want.push(format!("{extdir}/{f}"));
        }
    }
    let missing: Vec<&String> = want.iter().filter(|f| !files.contains(f)).collect();
    assert!(missing.is_empty(), "the package lacks {missing:?}; it has {files:#?}");

    node.start();
    node.sql(DB, "CREATE EXTENSION pg_baostock");
    assert_eq!(
        node.sql(DB, "SELECT extversion FROM pg_extension WHERE extname = 'pg_baostock'"),
        version
    );
    sync_and_check(&node, 1);
    node.sql(DB, "DROP EXTENSION pg_baostock");
    removed(&node, &dpkg, &libdir, &extdir);

    if let (Some(previous), Some(previous_deb)) = (previous, previous_deb) {
        println!("==> the package of {previous}, a database at {previous} with data, then the package of {version}");
        dpkg.install(&previous_deb);
        node.start();
        node.sql(DB, &format!("CREATE EXTENSION pg_baostock VERSION '{previous}'"));
        sync_and_check(&node, 1);
        let digests = node.sql(DB, TABLE_DIGESTS);
        let before = node.sql(DB, &digests);
        assert!(
            rows_in(&before, "baostock.daily_bars") > Some(0),
            "no daily bars stored at {previous}:\n{before}"
        );
        dpkg.install(&deb);
        // The library is preloaded: the new one runs from the restart on. The old worker saves
        // its counters into server_state as it stops; every other row stays as it was.
        node.stop();
        node.start();
        let but_server_state = |digests: &str| -> Vec<String> {
            digests
                .lines()
                .filter(|l| !l.starts_with("baostock.server_state "))
                .map(str::to_owned)
                .collect()
        };
        let restarted = node.sql(DB, &digests);
        assert_eq!(
            but_server_state(&restarted),
            but_server_state(&before),
            "rows through the package upgrade"
        );
        let before = restarted;
        // The digests in the update's transaction: once it commits, the worker goes on (and
        // writes what it learns of the server).
        let after = node.sql(
            DB,
            &format!("BEGIN; ALTER EXTENSION pg_baostock UPDATE; {digests}; COMMIT;"),
        );
        assert_eq!(after, before, "rows through the package upgrade and the update");
        assert_eq!(
            node.sql(DB, "SELECT extversion FROM pg_extension WHERE extname = 'pg_baostock'"),
            version
        );
        sync_and_check(&node, 2);
        removed(&node, &dpkg, &libdir, &extdir);
    }
}

/// The cluster stopped and the package removed: none of its files is left, nor any other file
/// of pg_baostock in that PostgreSQL.
fn removed(node: &Node, dpkg: &Dpkg, libdir: &str, extdir: &str) {
    node.stop();
    println!("==> dpkg -r {}", dpkg.name);
    dpkg.remove();
    assert_eq!(
        installed_files(libdir, extdir),
        Vec::<String>::new(),
        "files after dpkg -r"
    );
}

/// The calendar, the securities and the trading day `weeks` weeks back (published whole) synced
/// from the emulator, and the health report answering.
fn sync_and_check(node: &Node, weeks: i32) {
    assert_eq!(
        node.sql(
            DB,
            "SELECT status FROM baostock.sync_calendar(); SELECT status FROM baostock.sync_securities();"
        ),
        "ok\nok"
    );
    let days = node.sql(
        DB,
        &format!(
            "SELECT status FROM baostock.sync_date((SELECT max(day) FROM baostock.trade_calendar
                                                     WHERE is_trading_day AND day <= current_date - 7 * {weeks}))"
        ),
    );
    assert_eq!(days, "ok", "sync_date() of a day {weeks} weeks back");
    let health = node.sql(DB, "SELECT status FROM baostock.sync_health()");
    assert!(!health.is_empty(), "sync_health() answered nothing");
    println!("    sync_date(): {}; sync_health(): {health}", days.replace('\n', ", "));
}
