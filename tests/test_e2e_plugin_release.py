"""The Helm 4 plugin as a release ships it: `make plugin` signs the tarball with a key made
for this run (never committed), and the real Helm 4 installs it from a release URL with
verification on, and refuses it unsigned or tampered with."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from e2e_helpers import (
    CHART,
    HELM4_PLUGIN,
    OVERLAYS,
    RELEASE_PAGE,
    doc_block,
    find,
    load_docs,
    make_sandbox,
    run_make,
    serve_directory,
)

from renderer import __version__

pytestmark = pytest.mark.e2e

SIGNER = "cnpg-render test signer"
TARBALL = f"cnpg-render-{__version__}.tgz"
KEY_PARAMETERS = f"""\
%no-protection
Key-Type: eddsa
Key-Curve: ed25519
Key-Usage: sign
Name-Real: {SIGNER}
Name-Email: signer@cnpg-render.invalid
Expire-Date: 1d
%commit
"""


@dataclass
class Signer:
    gnupg: Path
    secring: Path  # the legacy-format secret keyring `helm plugin package --sign` reads
    pubring: Path  # the public keyring `helm plugin install --keyring` reads


@pytest.fixture(scope="module")
def signer(tmp_path_factory) -> Signer:
    home = tmp_path_factory.mktemp("signer")
    gnupg = home / "gnupg"
    gnupg.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(gnupg)}
    subprocess.run(["gpg", "--batch", "--quiet", "--generate-key"], input=KEY_PARAMETERS.encode(), env=env, check=True)
    for name, what in (("secring.gpg", "--export-secret-keys"), ("pubring.gpg", "--export")):
        with open(home / name, "wb") as out:
            subprocess.run(["gpg", "--batch", what, SIGNER], stdout=out, env=env, check=True)
    return Signer(gnupg, home / "secring.gpg", home / "pubring.gpg")


@pytest.fixture(scope="module")
def release(signer, tmp_path_factory) -> Path:
    """A release directory as `make plugin` fills it."""
    dist = tmp_path_factory.mktemp("release")
    proc = run_make("plugin", f"DIST={dist}", f"PLUGIN_KEY={SIGNER}", f"PLUGIN_KEYRING={signer.secring}",
                    env={"GNUPGHOME": str(signer.gnupg)})
    assert proc.returncode == 0, proc.stderr.decode()
    return dist


def install(box, tarball: Path, keyring: Path):
    return box.run([box.helm, "plugin", "install", tarball, "--keyring", keyring], check=False)


def test_plugin_version_is_the_package_version():
    assert yaml.safe_load((HELM4_PLUGIN / "plugin.yaml").read_text())["version"] == __version__


def test_make_plugin_writes_the_signed_tarball_and_the_public_key(release):
    assert sorted(p.name for p in release.iterdir()) == sorted(
        [TARBALL, f"{TARBALL}.prov", "cnpg-render-signing-key.asc"])
    with tarfile.open(release / TARBALL) as tar:
        assert {"cnpg-render/plugin.yaml", "cnpg-render/bin/cnpg-render"} <= set(tar.getnames())
    assert "-----BEGIN PGP SIGNATURE-----" in (release / f"{TARBALL}.prov").read_text()


def test_make_plugin_without_a_key_says_what_to_set(tmp_path):
    proc = run_make("plugin", f"DIST={tmp_path}")
    assert proc.returncode != 0 and b"set PLUGIN_KEY" in proc.stderr and not list(tmp_path.iterdir())


def test_documented_release_install_verifies_the_signature(release, tmp_path):
    box = make_sandbox(tmp_path, 4)
    script = doc_block("helm4-install-release")
    assert f"{RELEASE_PAGE}/{TARBALL}" in script
    with serve_directory(release) as url:
        out = box.bash(script.replace(RELEASE_PAGE, url), cwd=tmp_path).stdout
    assert f"Signed by: {SIGNER} <signer@cnpg-render.invalid>" in out and "Plugin Hash Verified" in out
    listed = box.run([box.helm, "plugin", "list"]).stdout
    assert [line.split()[4] for line in listed.splitlines() if line.startswith("cnpg-render")] == ["signed"]
    args = ["template", "demo", CHART, "--post-renderer", "cnpg-render",
            f"--post-renderer-args=--overlay={OVERLAYS / 'overlay.yaml'}"]
    cluster = find(load_docs(box.run([box.helm, *args]).stdout), "Cluster", "demo-cnpg-main")
    assert cluster["spec"]["backup"]["barmanObjectStore"]


def test_a_tarball_without_its_signature_is_refused(release, signer, tmp_path):
    box = make_sandbox(tmp_path, 4)
    shutil.copy(release / TARBALL, tmp_path / TARBALL)
    proc = install(box, tmp_path / TARBALL, signer.pubring)
    assert proc.returncode == 1 and "no provenance file (.prov) found" in proc.stderr
    assert "cnpg-render" not in box.run([box.helm, "plugin", "list"]).stdout


def test_a_tampered_tarball_is_refused(release, signer, tmp_path):
    box = make_sandbox(tmp_path, 4)
    with tarfile.open(release / TARBALL) as tar:
        tar.extractall(tmp_path / "unpacked", filter="tar")
    launcher = tmp_path / "unpacked" / "cnpg-render" / "bin" / "cnpg-render"
    launcher.write_text(launcher.read_text().replace('exec "$bin" "$@"', 'exec cat'))
    shutil.copy(release / f"{TARBALL}.prov", tmp_path)
    with tarfile.open(tmp_path / TARBALL, "w:gz") as tar:
        tar.add(tmp_path / "unpacked" / "cnpg-render", arcname="cnpg-render")
    proc = install(box, tmp_path / TARBALL, signer.pubring)
    assert proc.returncode == 1 and f"sha256 sum does not match for {TARBALL}" in proc.stderr
    assert "cnpg-render" not in box.run([box.helm, "plugin", "list"]).stdout
