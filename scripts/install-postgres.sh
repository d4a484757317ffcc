#!/usr/bin/env bash
# Make PostgreSQL 15 server binaries (initdb, pg_ctl, postgres) available for the
# real-parts tests. Idempotent and silent when they are already installed; on a
# fresh CI machine installs Debian's postgresql-15 (falling back to the distro's
# default `postgresql` package when 15 is not in the archive).
set -euo pipefail

PG_BIN=/usr/lib/postgresql/15/bin

have_pg15() {
    [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] && [ -x "$PG_BIN/postgres" ] &&
        command -v psql >/dev/null
}

if have_pg15; then
    exit 0
fi

echo "install-postgres: installing PostgreSQL 15 from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
if apt-cache show postgresql-15 >/dev/null 2>&1; then
    apt-get install -y -qq --no-install-recommends postgresql-15 postgresql-client-15 >/dev/null
else
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
# Debian's package starts a cluster service; the tests run their own instance.
if command -v pg_lsclusters >/dev/null; then
    pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
        pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true
    done
fi
# The fallback package may bring another major; tests/realparts.py then uses it.
if ! have_pg15 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "install-postgres: no PostgreSQL server binaries under /usr/lib/postgresql after install" >&2
    exit 1
fi
