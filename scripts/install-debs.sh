#!/usr/bin/env bash
# Debian packages that tests (and `make image`) run for real: zsh and fish, where the
# README's completion lines are tested, gpg, which signs the Helm 4 plugin, buildah +
# mmdebstrap, which build the ArgoCD sidecar image, and Go, whose regexp package is
# what the API server matches CRD patterns with. Usage: install-debs.sh COMMAND[=PACKAGE]...
# (PACKAGE defaults to COMMAND); a command missing from PATH gets its package installed
# (as root, with apt), else the script says what to install. Nothing happens when
# every command is there.
set -euo pipefail

missing=()
for wanted in "$@"; do
    cmd="${wanted%%=*}"
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${wanted#*=}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-debs: missing ${missing[*]} (Debian: apt-get install ${missing[*]})" >&2
    exit 1
fi
echo "install-debs: installing ${missing[*]} (apt)" >&2
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
