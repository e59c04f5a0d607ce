#!/usr/bin/env bash
# A private, throw-away PostgreSQL server for tests and benchmarks: its own
# data directory, 127.0.0.1 and a port of the caller's choosing, its socket in
# that directory. It never touches the host's clusters (pg_lsclusters).
#
#   scratch-postgresql.sh start DIR PORT   prints the SQLAlchemy URL of database "ironic"
#   scratch-postgresql.sh stop DIR         stops it (fast) and removes DIR
set -euo pipefail

# (the newest major version's; the pattern itself when none is installed)
bindir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
[ -d "$bindir" ] || { echo "scratch-postgresql: no PostgreSQL server installed (Debian package postgresql)" >&2; exit 1; }
# (from /: the server programs fail in a directory postgres cannot read)
as_postgres() { (cd / && runuser -u postgres -- "$@"); }

case "${1:-}" in
start)
    dir=$2 port=$3
    # The server refuses to run as root: its directory belongs to postgres.
    install -d -o postgres -g postgres -m 0700 "$dir"
    password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    if [ ! -s "$dir/data/PG_VERSION" ]; then
        as_postgres "$bindir/initdb" -D "$dir/data" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
            --no-instructions >"$dir/initdb.log"
    fi
    as_postgres "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null
    PGOPTIONS="-c client_min_messages=warning" as_postgres "$bindir/psql" -h "$dir" -p "$port" -U postgres -qAt -v ON_ERROR_STOP=1 >/dev/null <<SQL
DROP DATABASE IF EXISTS ironic;
DROP ROLE IF EXISTS ironic;
CREATE ROLE ironic LOGIN PASSWORD '$password';
CREATE DATABASE ironic OWNER ironic;
SQL
    echo "postgresql+psycopg2://ironic:$password@127.0.0.1:$port/ironic"
    ;;
stop)
    dir=$2
    if [ -s "$dir/data/postmaster.pid" ]; then
        as_postgres "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac
