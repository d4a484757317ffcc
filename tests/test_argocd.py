"""The ArgoCD environment -> pipeline settings conversion (no helm needed), and the
confinement of an Application's paths to its repository: the sidecar is shared by
every team, so overlay and values paths are hostile input."""

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renderer import argocd

BASE = {"ARGOCD_APP_NAME": "shop", "ARGOCD_APP_NAMESPACE": "prod", "ARGOCD_APP_SOURCE_PATH": "apps/shop"}


@pytest.fixture
def repo(tmp_path):
    """tmp/repo (the checkout) with apps/shop (the app), overlays/, a secret file beside
    the checkout, and symlinks in and out."""
    root = tmp_path / "repo"
    app = root / "apps" / "shop"
    app.mkdir(parents=True)
    (app / "cnpg-overlay.yaml").write_text("cnpg: {}\n")
    (app / "values-prod.yaml").write_text("x: 1\n")
    (root / "overlays").mkdir()
    (root / "overlays" / "x.yaml").write_text("cnpg: {}\n")
    (tmp_path / "outside.yaml").write_text("stolen: true\n")
    (app / "link-out.yaml").symlink_to(tmp_path / "outside.yaml")
    (app / "link-dir-out").symlink_to(tmp_path)
    (app / "link-in.yaml").symlink_to(root / "overlays" / "x.yaml")
    (app / "a:b.yaml").write_text("cnpg: {}\n")
    return root


def settings_for(repo, **env):
    return argocd.settings_from_env({**BASE, **env}, repo / "apps" / "shop")


def overlay_param(value: str) -> str:
    return json.dumps([{"name": "overlay", "string": value}])


def values_param(*values: str) -> str:
    return json.dumps([{"name": "values-files", "array": list(values)}])


def test_defaults_and_native_helm_flags(repo):
    s = settings_for(repo, KUBE_VERSION="1.31.4", KUBE_API_VERSIONS="v1,apps/v1")
    assert (s.overlay, s.values_files) == (repo / "apps" / "shop" / "cnpg-overlay.yaml", ())
    assert argocd.helm_argv(s) == ["helm", "template", "shop", ".", "--namespace", "prod", "--include-crds",
                                   "--kube-version", "1.31.4", "--api-versions", "v1", "--api-versions", "apps/v1"]


def test_parameter_beats_env_beats_default(repo):
    env = {"ARGOCD_ENV_CNPG_OVERLAY": "../../overlays/x.yaml",
           "ARGOCD_ENV_CNPG_VALUES_FILES": "values-prod.yaml, link-in.yaml"}
    assert settings_for(repo, **env).values_files == (repo / "apps/shop/values-prod.yaml", repo / "overlays/x.yaml")
    assert settings_for(repo, **env).overlay == repo / "overlays" / "x.yaml"
    parameter = overlay_param("cnpg-overlay.yaml")
    assert settings_for(repo, ARGOCD_APP_PARAMETERS=parameter, **env).overlay.name == "cnpg-overlay.yaml"


@pytest.mark.parametrize("params, message", [
    ("not json", "not a list of ArgoCD parameters"),
    (json.dumps([{"name": "overlay"}]), "not a list of ArgoCD parameters"),
    (json.dumps([{"name": "colour", "string": "red"}]), "unknown parameter(s) colour"),
    (json.dumps([{"name": "overlay", "array": ["x"]}]), "overlay must be a string"),
    (json.dumps([{"name": "values-files", "string": "x"}]), "values-files an array"),
    (json.dumps([{"name": "values-files", "array": [1]}]), "values-files an array of strings"),
])
def test_bad_parameters_are_one_line_errors(repo, params, message):
    with pytest.raises(argocd.ArgoError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settings_for(repo, ARGOCD_APP_PARAMETERS=params)


HOSTILE = [
    # (value, what the refusal says) for both overlay and values files
    ("../../../outside.yaml", "outside the repository"),
    ("/etc/passwd", "outside the repository"),
    ("link-out.yaml", "outside the repository"),
    ("link-dir-out/outside.yaml", "outside the repository"),
    ("https://evil.example/values.yaml", "is a URL (https://…)"),
    ("http://169.254.169.254/latest/meta-data/", "is a URL (http://…)"),
    ("HTTP://169.254.169.254/", "is a URL (http://…)"),
    ("oci://registry.example/chart", "is a URL (oci://…)"),
    ("s3://bucket/values.yaml", "is a URL (s3://…)"),
    ("file:///etc/passwd", "is a URL (file://…)"),
    ("a:b.yaml", "is a URL (a://…)"),
    ("-", "is not a file name"),
    ("", "is not a file name"),
    ("missing.yaml", "not found"),
    ("../../../missing.yaml", "outside the repository"),  # nothing is said about what exists out there
    ("values\0.yaml", "not a file name"),
    ("../..", "not a regular file"),
    (".", "not a regular file"),
]


@pytest.mark.parametrize("value, message", HOSTILE)
@pytest.mark.parametrize("param", ["overlay", "values"])
def test_hostile_paths_are_refused(repo, param, value, message):
    params = overlay_param(value) if param == "overlay" else values_param("values-prod.yaml", value)
    with pytest.raises(argocd.ArgoError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settings_for(repo, ARGOCD_APP_PARAMETERS=params)


def test_a_url_is_not_echoed_it_can_carry_a_password(repo):
    with pytest.raises(argocd.ArgoError) as caught:
        settings_for(repo, ARGOCD_APP_PARAMETERS=values_param("https://user:hunter2@example.com/v.yaml"))
    assert "hunter2" not in str(caught.value) and "example.com" not in str(caught.value)


def test_a_name_with_a_colon_is_read_when_written_as_a_path(repo):
    assert settings_for(repo, ARGOCD_APP_PARAMETERS=overlay_param("./a:b.yaml")).overlay.name == "a:b.yaml"


def test_symlinks_inside_the_repository_are_followed(repo):
    assert settings_for(repo, ARGOCD_APP_PARAMETERS=values_param("link-in.yaml")).values_files == (
        repo / "overlays" / "x.yaml",)


@pytest.mark.parametrize("source_path, message", [
    ("apps/shop/a/..", None),  # normalised: the root stays the checkout
    ("./apps//shop/", None),
    ("../apps/shop", "leaves the repository"),
    ("/apps/shop", "leaves the repository"),
    ("apps/other", "does not lead to the app directory"),
    ("a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z/a/b/c/d/e/f/g", "deeper than the app directory"),
])
def test_source_path_cannot_move_the_root(repo, source_path, message):
    """`..` in ARGOCD_APP_SOURCE_PATH once counted as levels and moved the root up, so
    an overlay beside the checkout passed as "inside"."""
    env = {"ARGOCD_APP_SOURCE_PATH": source_path, "ARGOCD_APP_PARAMETERS": overlay_param("../../../outside.yaml")}
    expected = message or "outside the repository"
    with pytest.raises(argocd.ArgoError, match=expected):
        settings_for(repo, **env)


def test_missing_build_variables(repo):
    with pytest.raises(argocd.ArgoError, match="ARGOCD_APP_NAME is not set"):
        argocd.settings_from_env({}, repo)


SEGMENTS = st.sampled_from(["..", ".", "", "apps", "shop", "overlays", "x.yaml", "values-prod.yaml", "link-out.yaml",
                            "link-in.yaml", "link-dir-out", "outside.yaml", "repo", "cnpg-overlay.yaml", "etc",
                            "passwd", "http:", "file:", "~", "%2e%2e", "\\..", "a:b.yaml"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.booleans(), st.lists(SEGMENTS, min_size=1, max_size=8))
def test_any_accepted_path_is_a_file_inside_the_repository(repo, absolute, segments):
    value = ("/" if absolute else "") + "/".join(segments)
    try:
        real = argocd.inside(value, "values file", repo / "apps" / "shop", repo)
    except argocd.ArgoError:
        return
    assert real.is_relative_to(repo) and real.is_file() and not os.path.islink(real)
