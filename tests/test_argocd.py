"""The ArgoCD environment -> pipeline settings conversion (no helm needed)."""

import json

import pytest

from renderer import argocd

BASE = {"ARGOCD_APP_NAME": "shop", "ARGOCD_APP_NAMESPACE": "prod", "ARGOCD_APP_SOURCE_PATH": "apps/shop"}


def settings(tmp_path, **env):
    app = tmp_path / "repo" / "apps" / "shop"
    app.mkdir(parents=True, exist_ok=True)
    return argocd.settings_from_env({**BASE, **env}, app)


def test_defaults_and_native_helm_flags(tmp_path):
    s = settings(tmp_path, KUBE_VERSION="1.31.4", KUBE_API_VERSIONS="v1,apps/v1")
    assert (s.overlay, s.values_files) == ("cnpg-overlay.yaml", ())
    assert argocd.helm_argv(s) == ["helm", "template", "shop", ".", "--namespace", "prod", "--include-crds",
                                   "--kube-version", "1.31.4", "--api-versions", "v1", "--api-versions", "apps/v1"]
    assert argocd.render_argv(s)[-6:] == ["--release", "shop", "--namespace", "prod", "--overlay", "cnpg-overlay.yaml"]


def test_parameter_beats_env_beats_default(tmp_path):
    env = {"ARGOCD_ENV_CNPG_OVERLAY": "env.yaml", "ARGOCD_ENV_CNPG_VALUES_FILES": "a.yaml, b.yaml"}
    assert settings(tmp_path, **env).values_files == ("a.yaml", "b.yaml")
    assert settings(tmp_path, **env).overlay == "env.yaml"
    params = json.dumps([{"name": "overlay", "string": "param.yaml"}])
    assert settings(tmp_path, ARGOCD_APP_PARAMETERS=params, **env).overlay == "param.yaml"


@pytest.mark.parametrize("params, message", [
    ("not json", "not a list of ArgoCD parameters"),
    (json.dumps([{"name": "overlay"}]), "not a list of ArgoCD parameters"),
    (json.dumps([{"name": "colour", "string": "red"}]), "unknown parameter(s) colour"),
    (json.dumps([{"name": "overlay", "array": ["x"]}]), "overlay must be a string"),
    (json.dumps([{"name": "values-files", "string": "x"}]), "values-files an array"),
    (json.dumps([{"name": "overlay", "string": "../../../../etc/passwd"}]), "outside the repository"),
])
def test_bad_parameters_are_one_line_errors(tmp_path, params, message):
    with pytest.raises(argocd.ArgoError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settings(tmp_path, ARGOCD_APP_PARAMETERS=params)


def test_repo_root_allows_sibling_directories(tmp_path):
    s = settings(tmp_path, ARGOCD_APP_PARAMETERS=json.dumps([{"name": "overlay", "string": "../../overlays/x.yaml"}]))
    assert s.overlay == "../../overlays/x.yaml"


def test_missing_build_variables(tmp_path):
    with pytest.raises(argocd.ArgoError, match="ARGOCD_APP_NAME is not set"):
        argocd.settings_from_env({}, tmp_path)
