#!/usr/bin/env bash
# A local Citus cluster of three PostgreSQL 15 nodes, for tests: the coordinator on BASEPORT,
# two workers on BASEPORT+1 and BASEPORT+2, data directories DIR/coordinator, DIR/worker1,
# DIR/worker2 (created on first start, kept across stop/start), logs DIR/*.log.
#
#   bash scripts/citus-cluster.sh start DIR BASEPORT
#   bash scripts/citus-cluster.sh stop DIR BASEPORT
#
# Each node listens on 127.0.0.1 (Citus connects to its nodes over TCP) and on a unix socket
# in DIR, trusting every local connection. CITUS_PRELOAD is shared_preload_libraries (default
# citus; citus must come first, e.g. 'citus,pg_baostock'), rewritten at every start.
# CITUS_DB (default postgres) is the database that gets CREATE EXTENSION citus on all three
# nodes (created if missing); the coordinator then registers itself and both workers.
# CREATE EXTENSION citus turns ssl on by itself (ALTER SYSTEM, with a self-signed certificate
# in the data directory) and nodes then connect to each other with sslmode=require: leave
# postgresql.auto.conf alone (ALTER SYSTEM RESET ALL breaks the node-to-node connections).
# start and stop are idempotent. Needs Citus installed (scripts/setup-citus.sh). Run as root:
# every PostgreSQL binary runs as the postgres OS user.
set -euo pipefail
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
. "$(dirname "$0")/lib/cluster.sh"
CITUS_PRELOAD=${CITUS_PRELOAD:-citus}
CITUS_DB=${CITUS_DB:-postgres}
log() { printf '[citus-cluster] %s\n' "$*"; }
usage() { echo "usage: $0 start|stop DIR BASEPORT" >&2; exit 2; }

[ $# -eq 3 ] || usage
action=$1
DIR=$(realpath -m "$2")
BASEPORT=$3
[[ $BASEPORT =~ ^[0-9]+$ ]] || usage
NODES=(coordinator worker1 worker2)

port_of() { echo $((BASEPORT + $1)); }
psql_at() { # port, database, psql arguments...
  local port=$1 db=$2
  shift 2
  cluster_as "$DIR" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$port" -d "$db" "$@"
}

case "$action" in
  stop)
    for i in "${!NODES[@]}"; do
      node=${NODES[$i]}
      if cluster_running "$DIR/$node"; then
        log "stopping $node (port $(port_of "$i"))"
        cluster_stop "$DIR/$node"
      fi
    done
    ;;
  start)
    [[ $CITUS_PRELOAD == citus || $CITUS_PRELOAD == citus,* ]] ||
      { echo "CITUS_PRELOAD=$CITUS_PRELOAD: citus must come first" >&2; exit 2; }
    [ -f "$("$PGBIN/pg_config" --pkglibdir)/citus.so" ] ||
      { echo "Citus is not installed for $PGBIN: run scripts/setup-citus.sh" >&2; exit 1; }
    cluster_dir "$DIR"
    for i in "${!NODES[@]}"; do
      node=${NODES[$i]}
      port=$(port_of "$i")
      if [ ! -f "$DIR/$node/PG_VERSION" ]; then
        log "initdb $DIR/$node"
        cluster_initdb "$DIR/$node"
        echo "include_if_exists = 'citus-cluster.conf'" >> "$DIR/$node/postgresql.conf"
      fi
      # Rewritten at every start, so a changed CITUS_PRELOAD takes effect on the next start.
      cat > "$DIR/$node/citus-cluster.conf" << EOF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR'
shared_preload_libraries = '$CITUS_PRELOAD'
EOF
      chown postgres:postgres "$DIR/$node/citus-cluster.conf"
      if cluster_running "$DIR/$node"; then
        log "$node already running (port $port)"
      else
        log "starting $node on port $port"
        cluster_start "$DIR/$node" "$DIR/$node.log"
      fi
    done
    # Workers first: the coordinator's citus_add_node expects citus on the node it adds.
    for i in 2 1 0; do
      port=$(port_of "$i")
      if [ "$CITUS_DB" != postgres ] &&
        [ -z "$(psql_at "$port" postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$CITUS_DB'")" ]; then
        psql_at "$port" postgres -c 'SET client_min_messages = warning' -c "CREATE DATABASE \"$CITUS_DB\""
      fi
      psql_at "$port" "$CITUS_DB" -c 'SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS citus'
    done
    psql_at "$BASEPORT" "$CITUS_DB" -c "SELECT citus_set_coordinator_host('127.0.0.1', $BASEPORT)" > /dev/null
    for i in 1 2; do
      port=$(port_of "$i")
      if [ -z "$(psql_at "$BASEPORT" "$CITUS_DB" -tAc \
        "SELECT 1 FROM pg_dist_node WHERE nodename = '127.0.0.1' AND nodeport = $port")" ]; then
        log "adding worker 127.0.0.1:$port"
        psql_at "$BASEPORT" "$CITUS_DB" -c "SELECT citus_add_node('127.0.0.1', $port)" > /dev/null
      fi
    done
    log "up: coordinator 127.0.0.1:$BASEPORT, workers :$(port_of 1) :$(port_of 2), database $CITUS_DB" \
      "(psql -h $DIR -p $BASEPORT -U postgres $CITUS_DB)"
    ;;
  *) usage ;;
esac
