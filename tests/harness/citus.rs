//! A Citus cluster of three local PostgreSQL 15 nodes for a test: a coordinator and two
//! workers, made and started by `scripts/citus-cluster.sh` (the setup users and the benchmark
//! run too), each node a [`Node`] the test drives and that is stopped when dropped.

use std::process::Command;

use crate::node::{pg_bin, Node};
use crate::repo_path;

/// The coordinator and its two workers.
pub struct Citus {
    /// Data directories (`coordinator`, `worker1`, `worker2`), logs and sockets are under it.
    pub dir: String,
    /// `shared_preload_libraries` of every node (`citus` first).
    pub preload: String,
    pub coordinator: Node,
    pub workers: [Node; 2],
}

impl Citus {
    /// A new cluster under `/var/tmp/pg_baostock-NAME` (what an earlier run left there is
    /// stopped and removed), the coordinator on `port`, the workers on the next two, with
    /// `preload` loaded, `CREATE EXTENSION citus` in `postgres` on each and the workers added.
    pub fn started(name: &str, port: u16, preload: &str) -> Citus {
        let dir = format!("/var/tmp/pg_baostock-{name}");
        let bin = pg_bin(15);
        let node = |name: &str, port: u16| {
            Node::attach(&bin, &dir, port, &format!("{dir}/{name}"), &format!("{dir}/{name}.log"))
        };
        let citus = Citus {
            coordinator: node("coordinator", port),
            workers: [node("worker1", port + 1), node("worker2", port + 2)],
            dir: dir.clone(),
            preload: preload.to_owned(),
        };
        for n in citus.nodes() {
            if std::path::Path::new(&format!("{}/postmaster.pid", n.pgdata)).exists() {
                let _ = n.pg_ctl(&["-m", "immediate", "-w", "stop"]);
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        citus.add_database("postgres");
        citus
    }

    /// `CREATE DATABASE db` with Citus on every node and the workers registered in it, as a
    /// user makes a database of the cluster (starts the nodes that are down).
    pub fn add_database(&self, db: &str) {
        let out = Command::new("bash")
            .arg(repo_path("scripts/citus-cluster.sh"))
            .args(["start", &self.dir, &self.coordinator.port.to_string()])
            .env("CITUS_PRELOAD", &self.preload)
            .env("CITUS_DB", db)
            .output()
            .expect("run scripts/citus-cluster.sh");
        assert!(
            out.status.success(),
            "citus-cluster.sh start {} (database {db}): {}{}",
            self.dir,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The coordinator, then the workers.
    pub fn nodes(&self) -> [&Node; 3] {
        [&self.coordinator, &self.workers[0], &self.workers[1]]
    }
}
