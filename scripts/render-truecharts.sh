#!/usr/bin/env bash
# Renders fixtures/truecharts/*/{input,truecharts}.yaml with the real helm from
# TrueCharts' common library chart: its common-test chart at truecharts/library-charts
# 4518cd68 (common 24.1.9), the version ../shared/fixtures/real/ was rendered from
# (this reproduces truecharts-seed-rendered.yaml byte for byte).
#
#   git clone https://github.com/truecharts/library-charts && git -C library-charts checkout 4518cd68
#   scripts/render-truecharts.sh library-charts
#
# The outputs are committed: tests read them and never need the chart or the network.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
chart="$(cd "$1/library/common-test" && pwd)"
helm="${HELM:-$repo/.tools/helm3/helm}"
cases="$repo/fixtures/truecharts"
"$helm" dependency build "$chart" >/dev/null

render() {  # render <release> <ci values> <out> [values files...]
  local release=$1 base=$2 out=$3
  shift 3
  local files=()
  for f in "$@"; do files+=(-f "$f"); done
  "$helm" template "$release" "$chart" -n "$release" -f "$chart/ci/$base" "${files[@]}" > "$out"
}

for name in backups-and-schedules hibernated; do
  dir="$cases/$name"
  extra=()
  [[ -f "$dir/chart-values.yaml" ]] && extra=("$dir/chart-values.yaml")
  render immich cnpg-values.yaml "$dir/input.yaml" "${extra[@]}"
  render immich cnpg-values.yaml "$dir/truecharts.yaml" "${extra[@]}" "$cases/credentials.yaml" "$dir/overlay.yaml"
done
render immich cnpg-multi-values.yaml "$cases/second-entry/input.yaml"
render immich cnpg-multi-values.yaml "$cases/second-entry/truecharts.yaml" "$cases/credentials.yaml" \
  "$cases/second-entry/overlay.yaml"
render photos cnpg-values.yaml "$cases/new-release-name/input.yaml"
render immich cnpg-values.yaml "$cases/new-release-name/truecharts.yaml" "$cases/credentials.yaml" \
  "$cases/new-release-name/old-overlay.yaml"
