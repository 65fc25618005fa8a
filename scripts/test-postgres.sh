#!/usr/bin/env bash
# A throw-away PostgreSQL server for the run-registry tests, run by a non-root user on a local port.
#   scripts/test-postgres.sh start   -> prints the SQLAlchemy URL to export as NEURODYN_TEST_PG_URL
#   scripts/test-postgres.sh stop
# Needs Debian's `postgresql` package (CI installs it). The cluster lives in $PGTEST_DIR (default /tmp/neurodyn-pg),
# owned by the `postgres` system user the package creates; it listens on 127.0.0.1:$PGTEST_PORT (default 55432).
set -euo pipefail
dir="${PGTEST_DIR:-/tmp/neurodyn-pg}"
port="${PGTEST_PORT:-55432}"
bin=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
if [[ -z "$bin" ]]; then
  echo "PostgreSQL is not installed (apt-get install -y postgresql)" >&2
  exit 1
fi
as_pg() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "${1:-}" in
  start)
    if [[ ! -f "$dir/PG_VERSION" ]]; then
      mkdir -p "$dir"
      [[ "$(id -u)" == 0 ]] && chown postgres:postgres "$dir"
      as_pg "$bin/initdb" -D "$dir" -U postgres --auth=trust --no-sync -E UTF8 >/dev/null
    fi
    if ! as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
      as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
    fi
    if ! as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc \
        "SELECT 1 FROM pg_roles WHERE rolname='neurodyn'" | grep -q 1; then
      as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE ROLE neurodyn LOGIN CREATEDB PASSWORD 'neurodyn'"
      as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE neurodyn_test OWNER neurodyn"
    fi
    echo "postgresql+psycopg://neurodyn:neurodyn@127.0.0.1:$port/neurodyn_test"
    ;;
  stop)
    as_pg "$bin/pg_ctl" -D "$dir" -m fast stop >/dev/null 2>&1 || true
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
