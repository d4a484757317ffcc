"""`cnpg-render flux` against the real kustomize: Flux's post-renderers are kustomize
builds of the chart's render, one per `spec.postRenderers` item, in order. Running the
emitted HelmRelease's post-renderers that way over the real `helm template` output, plus
the emitted objects, must give exactly what `cnpg-render render` gives."""

from __future__ import annotations

import pytest
import yaml
from e2e_helpers import CHART, CNPG_RENDER, OVERLAYS, REPO, SHARED, find, load_docs, make_sandbox

from renderer.validate import Schemas, check, check_schema

pytestmark = pytest.mark.e2e

HELMRELEASE = REPO / "fixtures" / "flux" / "helmrelease.yaml"
OVERLAY = OVERLAYS / "overlay-recovery.yaml"
FILENAME = "postrenderer.helm.sh/postrender-filename"


@pytest.fixture(params=[3, 4], ids=["kustomize-5.0", "kustomize-5.7"])
def box(request, tmp_path):
    return make_sandbox(tmp_path, request.param)


@pytest.fixture(scope="module")
def schemas():
    return Schemas.from_dir(SHARED / "crds")


def chart_render(box, tmp_path, *extra):
    """What helm-controller renders for the fixture's HelmRelease (release shop, namespace shop)."""
    path = tmp_path / "render.yaml"
    path.write_text(box.run([box.helm, "template", "shop", CHART, "--namespace", "shop", *extra]).stdout)
    return path


def flux(box, helmrelease, render) -> tuple[dict, list[dict]]:
    """The emitted HelmRelease and objects."""
    out = box.run([CNPG_RENDER, "flux", "--helmrelease", helmrelease, "--overlay", OVERLAY, render]).stdout
    docs = load_docs(out)
    return docs[0], docs[1:]


def rendered(box, render) -> list[dict]:
    return load_docs(box.run([CNPG_RENDER, "render", "--overlay", OVERLAY, "--release", "shop", "--namespace", "shop",
                              render]).stdout)


def post_render(box, tmp_path, manifests: str, helmrelease: dict) -> list[dict]:
    """helm-controller's post-rendering: one `kubectl kustomize` per post-renderer, in order."""
    for i, renderer in enumerate(helmrelease["spec"].get("postRenderers", [])):
        work = tmp_path / f"post-renderer-{i}"
        work.mkdir()
        (work / "input.yaml").write_text(manifests)
        (work / "kustomization.yaml").write_text(yaml.safe_dump({"resources": ["input.yaml"], **renderer["kustomize"]}))
        manifests = box.run([box.kubectl, "kustomize", work]).stdout
    return load_docs(manifests)


def by_identity(docs: list[dict]) -> dict:
    return {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d for d in docs}


def without_post_renderers(tmp_path) -> str:
    plain = yaml.safe_load(HELMRELEASE.read_text())
    del plain["spec"]["postRenderers"]
    path = tmp_path / "helmrelease.yaml"
    path.write_text(yaml.safe_dump(plain))
    return path


def test_patches_and_objects_give_what_render_gives(box, tmp_path):
    render = chart_render(box, tmp_path)
    helmrelease, objects = flux(box, without_post_renderers(tmp_path), render)
    assert len(helmrelease["spec"]["postRenderers"]) == 1
    patched = post_render(box, tmp_path, render.read_text(), helmrelease)
    assert by_identity(patched + objects) == by_identity(rendered(box, render))


def test_the_helmrelease_is_valid_and_keeps_its_post_renderers_first(box, tmp_path, schemas):
    render = chart_render(box, tmp_path)
    helmrelease, objects = flux(box, HELMRELEASE, render)
    assert check_schema(helmrelease, schemas) == [] and schemas.covers(helmrelease)
    written = yaml.safe_load(HELMRELEASE.read_text())
    assert helmrelease["spec"]["postRenderers"][:-1] == written["spec"]["postRenderers"]
    assert {k: v for k, v in helmrelease["spec"].items() if k != "postRenderers"} == \
        {k: v for k, v in written["spec"].items() if k != "postRenderers"}
    patched = by_identity(post_render(box, tmp_path, render.read_text(), helmrelease))
    deployment = patched[("Deployment", None, "shop-app")]["spec"]["template"]["spec"]["containers"][0]
    assert deployment["image"] == "ghcr.io/example/app:1.0.1", "the images post-renderer still runs"
    assert patched[("Cluster", None, "shop-cnpg-main")] == find(rendered(box, render), "Cluster", "shop-cnpg-main")
    assert [p for o in objects for p in check(o, schemas)] == []


def test_patches_fit_what_helm4_hands_post_renderers(tmp_path):
    """helm-controller's Helm 4 annotates every object before post-renderers run: the
    patches made from `helm template` must apply to that too, annotation kept."""
    box = make_sandbox(tmp_path, 4)
    captured = capture_helm4_post_render_input(box, tmp_path)
    helmrelease, objects = flux(box, without_post_renderers(tmp_path), chart_render(box, tmp_path))
    patched = post_render(box, tmp_path, captured.read_text(), helmrelease)
    cluster = find(patched, "Cluster", "shop-cnpg-main")
    assert cluster["metadata"]["annotations"][FILENAME] == "demo/templates/cluster.yaml"
    expected = rendered(box, captured)
    for obj in expected:  # added objects carry their Cluster's Helm 4 file name only inside Helm
        if "cnpg-render.io/generated-for" in obj["metadata"].get("annotations", {}):
            del obj["metadata"]["annotations"][FILENAME]
    assert by_identity(patched + objects) == by_identity(expected)


def capture_helm4_post_render_input(box, tmp_path):
    """Helm 4's post-renderer input, written by a plugin that `tee`s it."""
    plugin = tmp_path / "capture"
    (plugin / "bin").mkdir(parents=True)
    (plugin / "plugin.yaml").write_text(
        "apiVersion: v1\ntype: postrenderer/v1\nname: capture\nversion: 0.1.0\nruntime: subprocess\n"
        "runtimeConfig:\n  platformCommand:\n    - command: ${HELM_PLUGIN_DIR}/bin/capture\n")
    captured = tmp_path / "helm4-post-render-input.yaml"
    (plugin / "bin" / "capture").write_text(f"#!/bin/sh\ntee {captured}\n")
    (plugin / "bin" / "capture").chmod(0o755)
    box.run([box.helm, "plugin", "install", plugin])
    box.run([box.helm, "template", "shop", CHART, "--namespace", "shop", "--post-renderer", "capture"])
    assert FILENAME in captured.read_text()
    return captured


def test_running_on_its_own_output_replaces_its_post_renderer(box, tmp_path):
    render = chart_render(box, tmp_path)
    first = box.run([CNPG_RENDER, "flux", "--helmrelease", HELMRELEASE, "--overlay", OVERLAY, render]).stdout
    (tmp_path / "generated.yaml").write_text(first)
    again = box.run([CNPG_RENDER, "flux", "--helmrelease", tmp_path / "generated.yaml", "--overlay", OVERLAY, render])
    assert again.stdout == first

