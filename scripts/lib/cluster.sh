# Sourced by the scripts that run a PostgreSQL cluster of their own (demo.sh, bench.sh,
# test-cluster.sh, citus-cluster.sh). PostgreSQL refuses root: its programs run as the postgres
# OS user, from the cluster's directory (which that user owns; the checkout may be closed to
# it). DATA is a data directory, its parent the cluster's directory (sockets, logs). Needs
# PGBIN (scripts/lib/pg-env.sh).
#
#   cluster_as DIR PROGRAM [ARGS...]   a program run as postgres, from DIR
#   cluster_dir DIR                    DIR made (if missing) and given to postgres
#   cluster_initdb DATA [ARGS...]      a new data directory: trust, UTF8, C.UTF-8
#   cluster_start DATA LOG             started, and waited for (60 s at most)
#   cluster_stop DATA [MODE]           stopped (fast by default) if it has a postmaster.pid
#   cluster_running DATA               whether a server runs in DATA
#   wait_for_port PORT [PID]           until 127.0.0.1:PORT accepts (10 s), or PID ended

cluster_as() {
  local dir=$1
  shift
  (cd "$dir" 2> /dev/null || cd /; sudo -u postgres "$@")
}

cluster_dir() {
  mkdir -p "$1"
  chown postgres:postgres "$1"
}

cluster_initdb() {
  local data=$1
  shift
  cluster_as "$(dirname "$data")" "$PGBIN/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 "$@" > /dev/null
}

cluster_start() {
  cluster_as "$(dirname "$1")" "$PGBIN/pg_ctl" -D "$1" -l "$2" -w -t 60 start > /dev/null
}

cluster_stop() {
  if [ -f "$1/postmaster.pid" ]; then
    cluster_as "$(dirname "$1")" "$PGBIN/pg_ctl" -D "$1" -m "${2:-fast}" -w stop > /dev/null || true
  fi
}

cluster_running() {
  [ -f "$1/postmaster.pid" ] && cluster_as "$(dirname "$1")" "$PGBIN/pg_ctl" -D "$1" status > /dev/null 2>&1
}

wait_for_port() {
  local port=$1 pid=${2:-}
  for _ in $(seq 100); do
    (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2> /dev/null; then
      echo "the process $pid meant to listen on $port ended" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "nothing accepts on 127.0.0.1:$port after 10 s" >&2
  return 1
}
