#!/usr/bin/env bash
# Build the ArgoCD CMP sidecar image, deploy/argocd/Containerfile, with buildah and no
# image registry (`make image`; `make wheelhouse` runs the first step alone).
#
#   image.sh wheelhouse   dist/wheels: the cnpg-render wheel and its runtime dependencies
#                         for the image's Python (PYTHON_VERSION), installed there without
#                         an index, so the build needs no network
#   image.sh build        the wheelhouse, the base images, then the image; prints its name
#
# The Containerfile starts FROM what a user's build pulls: python:<PYTHON_VERSION>-slim-
# bookworm and alpine/helm:<HELM_VERSION>. Where no registry is reachable (here, CI),
# this script puts stand-ins under exactly those names into its own image store and
# builds with --pull=never: Debian bookworm with its python3, made by mmdebstrap (the
# rootfs is cached in .tools/image/), and the pinned helm from .tools/helm3
# (scripts/fetch-tools.sh). buildah runs with chroot isolation and the vfs driver, which
# need neither a daemon nor overlayfs.
#
# Env: PY (a Python with `build` and pip: the project venv's), IMAGE_STORE (default
# .tools/containers), IMAGE (default localhost/cnpg-render-cmp:<CNPG_RENDER_VERSION>).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
containerfile=deploy/argocd/Containerfile
pin() { sed -n "s/^ARG $1=//p" "$containerfile"; }
python_version="$(pin PYTHON_VERSION)"
helm_version="$(pin HELM_VERSION)"
version="$(pin CNPG_RENDER_VERSION)"
store="${IMAGE_STORE:-$root/.tools/containers}"
image="${IMAGE:-localhost/cnpg-render-cmp:$version}"
py="${PY:-$root/.venv/bin/python}"
python_base="docker.io/library/python:${python_version}-slim-bookworm"
helm_base="docker.io/alpine/helm:${helm_version}"

bah() { buildah --root "$store/storage" --runroot "$store/run" --storage-driver vfs "$@"; }
say() { echo "image: $*" >&2; }

# The wheel is built from a copy of what it packages: a build in the checkout would
# leave build/ and *.egg-info there and collide with any other build running in it.
wheelhouse() {
    local wheel="dist/wheels/cnpg_render-$version-py3-none-any.whl"
    rm -rf dist/wheels
    wheel_source="$(mktemp -d)"
    trap 'rm -rf "$wheel_source"' EXIT
    cp -r pyproject.toml README.md renderer "$wheel_source"
    "$py" -m build --wheel --outdir dist/wheels "$wheel_source" >/dev/null
    [ -f "$wheel" ] || { say "the Containerfile pins cnpg-render $version, the build made $(ls dist/wheels)"; exit 1; }
    "$py" -m pip download --quiet --dest dist/wheels --only-binary=:all: --implementation cp \
        --python-version "${python_version%.*}" --platform manylinux2014_x86_64 "$wheel"
}

has_image() { bah inspect --type image "$1" >/dev/null 2>&1; }

python_standin() {
    local rootfs="$root/.tools/image/python-bookworm.tar" container
    if [ ! -s "$rootfs" ]; then
        say "making the Debian bookworm + python3 rootfs (mmdebstrap)"
        mkdir -p "$(dirname "$rootfs")"
        mmdebstrap --quiet --variant=essential --include=python3,python3-venv,passwd,ca-certificates \
            --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
            --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
            --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
            bookworm "$rootfs.tmp"
        mv "$rootfs.tmp" "$rootfs"
    fi
    container="$(bah from scratch)"
    bah add --quiet "$container" "$rootfs" /
    bah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8 \
        --cmd python3 "$container"
    bah commit --quiet --rm "$container" "$python_base" >/dev/null
}

helm_standin() {
    local helm="$root/.tools/helm3/helm" found container
    found="$("$helm" version --template '{{.Version}}')"
    if [ "$found" != "v$helm_version" ]; then
        say "the Containerfile pins helm $helm_version but .tools/helm3 holds $found: raise the pin in scripts/fetch-tools.sh too"
        exit 1
    fi
    container="$(bah from scratch)"
    bah copy --quiet --chmod 0755 "$container" "$helm" /usr/bin/helm
    bah commit --quiet --rm "$container" "$helm_base" >/dev/null
}

build() {
    wheelhouse
    has_image "$python_base" || { say "stand-in for $python_base"; python_standin; }
    has_image "$helm_base" || { say "stand-in for $helm_base"; helm_standin; }
    bah bud --quiet --isolation chroot --pull=never --layers=false -f "$containerfile" -t "$image" . >/dev/null
    bah rmi --prune >/dev/null 2>&1 || true  # the image this tag was on before
    echo "$image"
}

case "${1:-build}" in
    wheelhouse) wheelhouse ;;
    build) build ;;
    *) say "usage: image.sh [wheelhouse|build]"; exit 2 ;;
esac
