#!/usr/bin/env python3
"""Measure what post-rendering with cnpg-render costs on top of `helm template`.

Runs everything in one process, on the same machine, interleaved, so the ratios are
comparable even when absolute times are not:

- Helm 3 (executable post-renderer) and Helm 4 (postrenderer/v1 plugin), each with
  no post-renderer, a cat-through (Helm's own cost of post-rendering), and cnpg-render;
- on the demo test chart, and on kube-prometheus-stack (its real render, from
  ../shared/fixtures/real, turned into a chart: CRDs in crds/, every other document
  served verbatim through .Files.Get, plus one CNPG Cluster for cnpg-render to edit);
- cnpg-render on the 5.2 MB kube-prometheus-stack render (with CRDs) on stdin.

Usage: .venv/bin/python scripts/helm-overhead.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOOLS = REPO / ".tools"
DEMO = REPO / "fixtures" / "charts" / "demo"
OVERLAY = REPO / "fixtures" / "integrations" / "overlay.yaml"
KPS = REPO.parent / "shared" / "fixtures" / "real" / "kube-prometheus-stack-with-crds.yaml"
CNPG_RENDER = Path(sys.executable).parent / "cnpg-render"


# The one document cnpg-render edits in the stdin measurement (an overlay entry that
# matches no Cluster is an error, so the input must hold one).
CLUSTER = """---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: kps-cnpg-main
spec:
  instances: 1
  storage: {size: 1Gi}
"""


def run_ms(argv: list[str], env: dict, stdin: Path | None) -> float:
    """Wall time of one execution; a failing run aborts the measurement."""
    with open(stdin or os.devnull, "rb") as feed:
        start = time.perf_counter()
        proc = subprocess.run(argv, stdin=feed, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        elapsed = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        sys.exit(f"helm-overhead: {' '.join(map(str, argv))} failed:\n{proc.stderr.decode()}")
    return elapsed


def measure(variants: list[tuple[str, list[str]]], env: dict, runs: int, stdin: Path | None = None):
    """Median per variant; the variants take turns run by run, so a load spike on the
    machine hits all of them alike instead of skewing one ratio."""
    times: dict[str, list[float]] = {label: [] for label, _ in variants}
    for _ in range(runs):
        for label, argv in variants:
            times[label].append(run_ms(argv, env, stdin))
    return [(label, statistics.median(times[label])) for label, _ in variants]


def helm_env(root: Path, major: int) -> dict:
    """Separate HOME/HELM_* per major (a Helm 4 plugin breaks Helm 3's plugin loading)."""
    env = {"PATH": os.pathsep.join([str(CNPG_RENDER.parent), "/usr/bin", "/bin"]), "LANG": "C.UTF-8"}
    for var in ("HOME", "HELM_DATA_HOME", "HELM_CONFIG_HOME", "HELM_CACHE_HOME", "XDG_STATE_HOME"):
        env[var] = str(root / f"helm{major}" / var.lower())
        Path(env[var]).mkdir(parents=True, exist_ok=True)
    return env


def install_helm4_plugins(helm: Path, env: dict, root: Path) -> None:
    """The repo's cnpg-render plugin, and a `cat` plugin as the pass-through baseline."""
    cat = root / "plugin-cat"
    cat.mkdir()
    (cat / "plugin.yaml").write_text(
        "apiVersion: v1\ntype: postrenderer/v1\nname: cat\nversion: 0.1.0\nruntime: subprocess\n"
        "runtimeConfig:\n  platformCommand:\n    - command: cat\n")
    for plugin in (REPO / "plugins" / "helm4" / "cnpg-render", cat):
        subprocess.run([helm, "plugin", "install", plugin], env=env, check=True, capture_output=True)


def kps_chart(root: Path) -> Path:
    """kube-prometheus-stack's render as a chart whose templates print it back verbatim."""
    chart = root / "kps"
    for sub in ("templates", "raw", "crds"):
        (chart / sub).mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: kps\nversion: 0.1.0\n")
    docs = [d for d in re.split(r"^---[ \t]*$\n?", KPS.read_text(), flags=re.M) if d.strip()]
    for i, doc in enumerate(docs):
        if re.search(r"^kind: CustomResourceDefinition$", doc, re.M):
            (chart / "crds" / f"crd-{i}.yaml").write_text(doc)
        else:
            (chart / "raw" / f"doc-{i}.yaml").write_text(doc)
            (chart / "templates" / f"doc-{i}.yaml").write_text(f'{{{{ .Files.Get "raw/doc-{i}.yaml" }}}}\n')
    (chart / "templates" / "cluster.yaml").write_text((DEMO / "templates" / "cluster.yaml").read_text()
                                                      .replace('{{- include "demo.labels" . | nindent 4 }}',
                                                               "app.kubernetes.io/instance: {{ .Release.Name }}")
                                                      .replace("{{ .Values.database.instances }}", "1")
                                                      .replace("{{ .Values.database.name }}", "app")
                                                      .replace("{{ .Values.database.owner }}", "app")
                                                      .replace("{{ .Values.database.storage }}", "1Gi"))
    return chart


def helm_rows(major: int, chart: Path, extra: list[str], env: dict, runs: int) -> list[tuple[str, float]]:
    helm = TOOLS / f"helm{major}" / "helm"
    base = [str(helm), "template", "rel", str(chart), *extra]
    overlay = [f"--post-renderer-args=--overlay={OVERLAY}"]
    if major == 3:
        variants = [("template", []), ("+ /bin/cat", ["--post-renderer", "/bin/cat"]),
                    ("+ cnpg-render", ["--post-renderer", str(CNPG_RENDER), *overlay])]
    else:
        variants = [("template", []), ("+ cat plugin", ["--post-renderer", "cat"]),
                    ("+ cnpg-render plugin", ["--post-renderer", "cnpg-render", *overlay])]
    return measure([(label, base + args) for label, args in variants], env, runs)


def print_table(title: str, rows: list[tuple[str, float]]) -> None:
    baseline = rows[0][1]
    print(f"\n{title}")
    for label, ms in rows:
        print(f"  {label:<24} {ms:8.1f} ms  {ms / baseline:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        envs = {3: helm_env(root, 3), 4: helm_env(root, 4)}
        install_helm4_plugins(TOOLS / "helm4" / "helm", envs[4], root)
        kps = kps_chart(root)
        print(f"median of {runs} runs; ratio = time / plain `helm template` in the same table")
        for major in (3, 4):
            print_table(f"Helm {major}, demo chart", helm_rows(major, DEMO, [], envs[major], runs))
            print_table(f"Helm {major}, kube-prometheus-stack (no CRDs)", helm_rows(major, kps, [], envs[major], runs))
            print_table(f"Helm {major}, kube-prometheus-stack --include-crds",
                        helm_rows(major, kps, ["--include-crds"], envs[major], runs))
        env, stdin = envs[3], root / "kps-with-cluster.yaml"
        stdin.write_text(KPS.read_text() + CLUSTER)
        print_table(f"stdin: {KPS.name} + one Cluster ({stdin.stat().st_size:,} bytes)", measure([
            ("cat", ["cat"]),
            ("python -c pass (venv)", [sys.executable, "-c", "pass"]),
            ("cnpg-render render", [str(CNPG_RENDER), "render", "--overlay", str(OVERLAY), "--release", "kps"]),
        ], env, runs, stdin))


if __name__ == "__main__":
    main()
