#!/usr/bin/env bash
# Build the barman-cloud tool venv used by the real-parts tests.
#
# Why Debian's /usr/bin/python3 and not the default interpreter: PostgreSQL runs
# archive_command/restore_command as an unprivileged user, which cannot read a
# root-owned interpreter home such as /root/.pyenv. A venv's bin/python is a
# symlink to its base interpreter, so the base must live in a world-readable
# place. The venv itself is made world-readable/executable for the same reason.
#
# Idempotent: when the venv exists and its tools run, nothing is done.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${BARMAN_VENV:-$ROOT/.tools/barman-venv}"
BASE_PY=/usr/bin/python3

works() {
    [ -x "$VENV/bin/barman-cloud-backup" ] &&
        "$VENV/bin/python" -c 'import barman.cloud_providers.aws_s3, boto3, snappy, lz4.frame, zstandard
import barman.cloud_providers.azure_blob_storage, barman.cloud_providers.google_cloud_storage, azure.identity' 2>/dev/null
}

if works; then
    exit 0
fi

apt_install() {
    # Run `apt-get update` once per script run, only when something is missing.
    if [ -z "${_APT_UPDATED:-}" ]; then
        apt-get update -qq >/dev/null
        _APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if [ ! -x "$BASE_PY" ]; then
    apt_install python3
fi
if ! "$BASE_PY" -c 'import venv, ensurepip' 2>/dev/null; then
    apt_install python3-venv
fi

# barman requires `psycopg2` (not -binary), which pip builds from source: it needs
# a C compiler, libpq headers/pg_config and Python headers.
if ! command -v gcc >/dev/null || ! command -v pg_config >/dev/null ||
    [ ! -f "/usr/include/python3.$("$BASE_PY" -c 'import sys; print(sys.version_info[1])')/Python.h" ]; then
    apt_install gcc libpq-dev python3-dev
fi

echo "barman-venv: building $VENV" >&2
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
"$BASE_PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
"${PIP[@]}" --upgrade pip 2>&1 | grep -v "^WARNING: Location" >&2 || true
# The compression extras let the tests archive WAL with every --<compression> barman offers;
# azure and google are the other two --cloud-provider values (tests against Azurite and a GCS emulator).
"${PIP[@]}" 'barman[cloud,azure,google,snappy,lz4,zstandard]' boto3 2>&1 | grep -v "^WARNING: Location" >&2 || true
# The postgres-side user must be able to traverse to and run the tools: open the
# venv for reading, and give each ancestor directory the search bit it lacks (say
# when we do, since that changes a directory outside the repo).
chmod -R a+rX "$VENV"
d="$(dirname "$VENV")"
while [ "$d" != "/" ]; do
    case "$(stat -c %A "$d")" in
        *x | *t) ;;
        *) echo "barman-venv: chmod o+x $d (so the PostgreSQL user can reach the tools)" >&2
           chmod o+x "$d" ;;
    esac
    d="$(dirname "$d")"
done
works || { echo "barman-venv: tools in $VENV do not run" >&2; exit 1; }
