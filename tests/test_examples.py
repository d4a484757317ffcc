"""The bundled example: `make demo` renders example/overlay.yaml, and the restore layer
beside it, run as its own comment says, must read what the demo writes."""

from __future__ import annotations

from tests.helpers import REPO, by_kind, documents, run_cli

EXAMPLE = REPO / "example"


def _cluster(*args: str) -> dict:
    result = run_cli("render", *args, str(EXAMPLE / "manifests.yaml"))
    assert result.returncode == 0, result.stderr.decode()
    return by_kind(documents(result.stdout), "Cluster")[0]


def _written(cluster: dict) -> tuple[str, str]:
    store = cluster["spec"]["backup"]["barmanObjectStore"]
    return store["destinationPath"], store["serverName"]


def _read(cluster: dict) -> tuple[str, str]:
    source = cluster["spec"]["bootstrap"]["recovery"]["source"]
    (external,) = [e for e in cluster["spec"]["externalClusters"] if e["name"] == source]
    return external["barmanObjectStore"]["destinationPath"], external["barmanObjectStore"]["serverName"]


def test_demo_command_in_the_makefile_passes_no_release():
    """The overlay pins the release; a --release on the demo line would say otherwise."""
    recipe = (REPO / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "cnpg-render render" in recipe and "--release" not in recipe


def test_restore_example_reads_the_lineage_the_demo_writes():
    demo = _cluster("--overlay", str(EXAMPLE / "overlay.yaml"))
    restore = _cluster("--overlay", str(EXAMPLE / "overlay.yaml"), "--overlay", str(EXAMPLE / "restore.yaml"))
    assert _written(demo) == ("s3://shop-backups/prod/shop/cnpg", "shop-cnpg-main")
    assert _read(restore) == _written(demo)
    assert _written(restore) == ("s3://shop-backups/prod/shop/cnpg", "shop-cnpg-main-r1")


def test_a_release_flag_does_not_move_a_pinned_lineage():
    result = run_cli("render", "--overlay", str(EXAMPLE / "overlay.yaml"), "--release", "demo",
                     str(EXAMPLE / "manifests.yaml"))
    assert _written(by_kind(documents(result.stdout), "Cluster")[0])[0] == "s3://shop-backups/prod/shop/cnpg"
    assert "--release demo is not used" in result.stderr.decode() and "pins release shop" in result.stderr.decode()
