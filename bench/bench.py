"""`make bench`: cnpg-render against baselines measured in the same run.

cnpg-render is measured as users run it, installed from its wheel (`install`).
(a) startup + pass-through: cnpg-render vs two floors, the same venv's Python copying stdin
    to stdout after importing yaml (the floor of any post-renderer reading YAML with
    PyYAML) and after importing yaml and click (one built on our dependencies), on the
    kube-prometheus-stack render plus one TrueCharts Cluster; and, to show where our
    share goes, that copy after importing every module the render imports (start-up
    alone, no work);
(b) throughput and memory on a ~100 MB stream (that render repeated, plus 500 Clusters
    matched by one glob entry);
(c) vs `kubectl kustomize` applying an equivalent JSON patch to the 5 MB input.
Figures are medians; compare the ratios, not the absolute times."""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "fixtures" / "real"
# Set by `install` to the venv cnpg-render is measured in.
RENDER: list[str] = []
FLOOR_YAML: list[str] = []
FLOOR: list[str] = []
PEAK_RSS = ("import resource, subprocess, sys\n"
            "with open(sys.argv[1], 'rb') as f: "
            "subprocess.run(sys.argv[2:], stdin=f, stdout=subprocess.DEVNULL, check=True)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")

TRUECHARTS_OVERLAY = """credentials:
  s3: {type: s3, url: "https://s3.example.com", bucket: my-bucket, path: truecharts,
       accessKey: AKIAEXAMPLE, secretKey: secretEXAMPLE}
cnpg:
  main:
    mode: recovery
    backups: {enabled: true, credentials: s3, revision: "1"}
    recovery: {credentials: s3}
"""
GLOB_OVERLAY = """credentials:
  s3: {type: s3, bucket: many, accessKey: AKIAEXAMPLE, secretKey: secretEXAMPLE}
cnpg:
  fleet:
    match: {name: "fleet-*"}
    backups: {enabled: true, credentials: s3}
"""
FLEET_CLUSTER = """---
# Source: fleet/templates/cluster.yaml
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: fleet-{i}
  namespace: fleet
  labels: {{app.kubernetes.io/instance: fleet}}
spec:
  instances: 1
  storage: {{size: 1Gi}}
  bootstrap:
    initdb: {{database: app, owner: app}}
"""


def install(work: Path) -> None:
    """Measure cnpg-render installed from its wheel, as users run it, in a venv of its
    own. The dev venv's editable install imports pathlib and importlib at start-up (its
    finder), which hid what those cost a render and made the floors heavier. The
    dependencies come from the dev venv (a .pth line), so nothing is downloaded; the
    floors run in the same venv."""
    global RENDER, FLOOR_YAML, FLOOR
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(work / "wheel"), str(REPO)],
                   check=True, stdout=subprocess.DEVNULL)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    dev_site = next(p for p in sys.path if p.endswith("site-packages"))
    next(venv.glob("lib/python*/site-packages")).joinpath("dev-dependencies.pth").write_text(dev_site + "\n")
    wheel = next((work / "wheel").glob("cnpg_render-*.whl"))
    subprocess.run([*pip, "--python", str(venv / "bin" / "python"), "install", "--no-deps", str(wheel)], check=True)
    python = str(venv / "bin" / "python")
    RENDER = [str(venv / "bin" / "cnpg-render"), "render"]
    FLOOR_YAML = [python, "-c", "import sys, yaml; sys.stdout.buffer.write(sys.stdin.buffer.read())"]
    FLOOR = [python, "-c", "import sys, yaml, click; sys.stdout.buffer.write(sys.stdin.buffer.read())"]


def timed(cmd: list[str], stdin_path: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run. CPU time is what a busy machine (CI,
    an ArgoCD repo-server) cannot blur; wall time is what a user waits."""
    with open(stdin_path, "rb") as stdin:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def medians(commands: dict[str, list[str]], stdin_path: Path, runs: int) -> dict[str, tuple[float, float]]:
    """Interleaved runs, so a noisy moment hits every command alike: (wall, CPU) medians."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            samples[name].append(timed(cmd, stdin_path))
    return {name: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
            for name, values in samples.items()}


def peak_rss_mb(cmd: list[str], stdin_path: Path) -> float:
    out = subprocess.run([sys.executable, "-c", PEAK_RSS, str(stdin_path), *cmd], capture_output=True, check=True)
    return int(out.stdout) / 1024


def startup(work: Path, runs: int) -> None:
    data = work / "kps-plus-truecharts.yaml"
    data.write_bytes((REAL / "kube-prometheus-stack-with-crds.yaml").read_bytes()
                     + (REAL / "truecharts-common-test-cnpg.yaml").read_bytes())
    overlay = work / "truecharts.yaml"
    overlay.write_text(TRUECHARTS_OVERLAY)
    cmd = [*RENDER, "--overlay", str(overlay), "--release", "immich"]
    imports = [FLOOR_YAML[0], "-c", f"import sys, yaml, {', '.join(render_imports(cmd, data))}; "
                                    "sys.stdout.buffer.write(sys.stdin.buffer.read())"]
    result = medians({"yaml": FLOOR_YAML, "yaml+click": FLOOR, "imports": imports, "cnpg-render": cmd}, data, runs)
    ours_wall, ours_cpu = result["cnpg-render"]
    print(f"(a) kube-prometheus-stack + 1 TrueCharts Cluster ({data.stat().st_size / 1e6:.1f} MB), median of {runs}:")
    print("                                           wall        CPU")
    floors = {"yaml": "floor (python + yaml, cat)", "yaml+click": "floor (python + yaml + click, cat)",
              "imports": "our imports alone (+ yaml, cat)"}
    for name, label in floors.items():
        print(f"    {label:34s}  {result[name][0] * 1000:7.1f} ms {result[name][1] * 1000:7.1f} ms")
    print(f"    cnpg-render render                  {ours_wall * 1000:7.1f} ms {ours_cpu * 1000:7.1f} ms")
    for name, target in (("yaml", 1.3), ("yaml+click", 1.2)):
        floor_wall, floor_cpu = result[name]
        print(f"    ratio to the {name + ' floor':16s}    {ours_wall / floor_wall:7.2f}x   {ours_cpu / floor_cpu:7.2f}x"
              f"  (target <= {target}x)")
    floor_cpu = result["yaml"][1]
    print(f"    of which start-up (imports)             {(result['imports'][1] - floor_cpu) / floor_cpu:7.2f}x"
          f" of the yaml floor's CPU, work {(ours_cpu - result['imports'][1]) / floor_cpu:.2f}x")


def render_imports(cmd: list[str], data: Path) -> list[str]:
    """The modules a render of `data` imports beyond `python -c 'import sys, yaml'`, in
    the venv cnpg-render is installed in: what its start-up costs, measured apart from
    its work."""
    python = FLOOR_YAML[0]
    listed = ("import sys\nfrom renderer.entry import main\n"
              "try:\n    main()\nexcept SystemExit:\n    pass\n"
              "sys.stderr.write(' '.join(sys.modules))\n")
    with open(data, "rb") as stdin:
        ran = subprocess.run([python, "-c", listed, *cmd[1:]], stdin=stdin, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, check=True)
    floor = subprocess.run([python, "-c", "import sys, yaml; print(' '.join(sys.modules))"],
                           capture_output=True, check=True, text=True).stdout.split()
    before = set(floor) | {"__main__"}
    return [name for name in ran.stderr.decode().splitlines()[-1].split() if name not in before]


def throughput(work: Path, runs: int) -> None:
    data = work / "big.yaml"
    kps = (REAL / "kube-prometheus-stack-with-crds.yaml").read_bytes()
    with open(data, "wb") as out:
        for _ in range(19):
            out.write(kps)
        for i in range(500):
            out.write(FLEET_CLUSTER.format(i=i).encode())
    overlay = work / "glob.yaml"
    overlay.write_text(GLOB_OVERLAY)
    cmd = [*RENDER, "--overlay", str(overlay), "--release", "fleet"]
    result = medians({"floor": FLOOR_YAML, "cnpg-render": cmd}, data, runs)
    size_mb = data.stat().st_size / 1e6
    rss = peak_rss_mb(cmd, data)
    print(f"(b) {size_mb:.0f} MB stream (kube-prometheus-stack x19 + 500 Clusters, one glob entry), median of {runs}:")
    floor, ours = result["floor"][0], result["cnpg-render"][0]
    print(f"    floor                               {floor:7.2f} s  ({size_mb / floor:6.0f} MB/s)")
    print(f"    cnpg-render                         {ours:7.2f} s  ({size_mb / ours:6.0f} MB/s, target >= 100)")
    print(f"    peak RSS                            {rss:7.0f} MB  (input {size_mb:.0f} MB; target <= input + 50)")


def kustomize(work: Path, runs: int) -> None:
    kubectl = shutil.which("kubectl", path=f"{REPO / '.tools' / 'helm4'}:{os.environ.get('PATH', '')}")
    if not kubectl:
        print("(c) skipped: no kubectl (run `make tools`)")
        return
    data = work / "kps-plus-cluster.yaml"
    data.write_bytes((REAL / "kube-prometheus-stack-with-crds.yaml").read_bytes()
                     + (REPO / "fixtures" / "inputs" / "cluster-main.yaml").read_bytes())
    kdir = work / "kustomize"
    kdir.mkdir()
    shutil.copy(data, kdir / "input.yaml")
    (kdir / "kustomization.yaml").write_text(
        "resources: [input.yaml]\npatches:\n"
        "- target: {group: postgresql.cnpg.io, version: v1, kind: Cluster, name: demo-cnpg-main}\n"
        "  patch: |\n    - op: add\n      path: /spec/backup\n"
        "      value: {barmanObjectStore: {destinationPath: 's3://my-bucket/demo/cnpg', serverName: demo-cnpg-main}}\n")
    overlay = REPO / "fixtures" / "overlays" / "backups.yaml"
    result = medians({"kubectl kustomize": [kubectl, "kustomize", str(kdir)],
                      "cnpg-render": [*RENDER, "--overlay", str(overlay)]}, data, runs)
    print(f"(c) equivalent patch on the 5 MB input, median of {runs} ({kubectl}):")
    kustomize_wall, ours = result["kubectl kustomize"][0], result["cnpg-render"][0]
    print(f"    kubectl kustomize                   {kustomize_wall * 1000:7.1f} ms")
    print(f"    cnpg-render                         {ours * 1000:7.1f} ms")
    print(f"    speed-up                            {kustomize_wall / ours:7.1f}x  (target >= 10x)")


def main() -> None:
    quick = "--quick" in sys.argv
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        install(work)
        startup(work, 5 if quick else 21)
        throughput(work, 1 if quick else 3)
        kustomize(work, 3 if quick else 7)


if __name__ == "__main__":
    main()
