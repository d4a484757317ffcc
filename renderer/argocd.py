"""ArgoCD Config Management Plugin edge: `cnpg-render argocd-init` and `argocd-generate`.

`init` (run before every generate, in the app directory) builds the chart's
dependencies when Chart.lock names ones that charts/ does not hold: ArgoCD's native
Helm does that, and a chart repository rarely vendors them. `helm dependency build`
only downloads from repositories Helm knows, so each http(s) repository of Chart.lock
is added first, into a Helm home of its own that goes away afterwards.

The CMP server runs `generate` without a shell, in the Application's source
directory, with the build environment (ARGOCD_APP_NAME, ARGOCD_APP_NAMESPACE,
KUBE_VERSION, KUBE_API_VERSIONS), the Application's plugin parameters as JSON in
ARGOCD_APP_PARAMETERS and its plugin env as ARGOCD_ENV_*. This module turns that
environment into the pipeline

    helm template <app> . --namespace <ns> --include-crds [--kube-version …]
        [--api-versions …]… [--values <file>]…
      | cnpg-render render --release <app> --namespace <ns> --overlay <overlay>

and runs it without a shell, failing loudly: ArgoCD prunes everything when a
plugin prints nothing and exits 0, so a failed or empty `helm template` is an
error here, never an empty success.

Parameter defaults are NOT sent by ArgoCD (the announcement only informs the
UI), so DEFAULTS below must equal `parameters.static` in deploy/argocd/plugin.yaml
(a test checks that).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import click

# name -> default; mirrored in deploy/argocd/plugin.yaml parameters.static.
DEFAULTS: dict[str, object] = {"overlay": "cnpg-overlay.yaml", "values-files": []}
# Plugin env (spec.source.plugin.env, seen as ARGOCD_ENV_<NAME>) that can stand in
# for a parameter; values files are comma-separated there.
ENV_NAMES = {"overlay": "ARGOCD_ENV_CNPG_OVERLAY", "values-files": "ARGOCD_ENV_CNPG_VALUES_FILES"}


class ArgoError(Exception):
    """A problem with the ArgoCD environment or a pipeline step; one line for the UI."""


@dataclass(frozen=True)
class Settings:
    """Everything generate needs, resolved from the environment once."""

    app: str
    namespace: str
    overlay: str
    values_files: tuple[str, ...]
    kube_version: str | None
    api_versions: tuple[str, ...]


def _parameters(raw: str | None) -> dict[str, object]:
    """ARGOCD_APP_PARAMETERS ([{"name":…, "string"|"array"|"map": …}]) as name -> value."""
    if not raw:
        return {}
    try:
        entries = json.loads(raw)
        return {e["name"]: next(e[k] for k in ("string", "array", "map") if k in e) for e in entries}
    except (ValueError, TypeError, KeyError, StopIteration) as exc:
        raise ArgoError(f"ARGOCD_APP_PARAMETERS: not a list of ArgoCD parameters ({exc})") from None


def _from_env(name: str, env: dict[str, str]) -> object | None:
    """An ARGOCD_ENV_* fallback for a parameter, or None when unset/blank."""
    value = env.get(ENV_NAMES[name], "").strip()
    if not value:
        return None
    return [v.strip() for v in value.split(",") if v.strip()] if name == "values-files" else value


def repo_root(env: dict[str, str], appdir: Path) -> Path:
    """The checked-out repository: the app dir minus ARGOCD_APP_SOURCE_PATH.

    Files outside it belong to other apps' checkouts in the sidecar's /tmp, so
    overlay and values paths may point anywhere in the repo but not beyond.
    """
    depth = len(Path(env.get("ARGOCD_APP_SOURCE_PATH", ".")).parts)
    appdir = appdir.resolve()
    return appdir.parents[depth - 1] if 0 < depth <= len(appdir.parents) else appdir


def _inside(path: str, what: str, appdir: Path, root: Path) -> str:
    """`path` (relative to the app dir) unchanged, or ArgoError when it leaves the repo."""
    if not (appdir / path).resolve().is_relative_to(root):
        raise ArgoError(f"{what} {path!r} is outside the repository")
    return path


def settings_from_env(env: dict[str, str], appdir: Path) -> Settings:
    """Resolve parameter > ARGOCD_ENV_* > default, and the build variables."""
    params = _parameters(env.get("ARGOCD_APP_PARAMETERS"))
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise ArgoError(f"ARGOCD_APP_PARAMETERS: unknown parameter(s) {', '.join(unknown)}")

    def pick(name):
        for value in (params.get(name), _from_env(name, env)):
            if value is not None:
                return value
        return DEFAULTS[name]

    overlay, values = pick("overlay"), pick("values-files")
    if not isinstance(overlay, str) or not isinstance(values, list):
        raise ArgoError("parameters: overlay must be a string and values-files an array")
    for key in ("ARGOCD_APP_NAME", "ARGOCD_APP_NAMESPACE"):
        if not env.get(key):
            raise ArgoError(f"{key} is not set (run by the ArgoCD CMP server?)")
    root = repo_root(env, appdir)
    return Settings(
        app=env["ARGOCD_APP_NAME"],
        namespace=env["ARGOCD_APP_NAMESPACE"],
        overlay=_inside(overlay, "overlay", appdir, root),
        values_files=tuple(_inside(v, "values file", appdir, root) for v in values),
        kube_version=env.get("KUBE_VERSION") or None,
        api_versions=tuple(v for v in env.get("KUBE_API_VERSIONS", "").split(",") if v),
    )


def helm_argv(s: Settings) -> list[str]:
    """`helm template` as ArgoCD's native Helm source runs it (util/helm/cmd.go)."""
    argv = ["helm", "template", s.app, ".", "--namespace", s.namespace, "--include-crds"]
    if s.kube_version:
        argv += ["--kube-version", s.kube_version]
    for api in s.api_versions:
        argv += ["--api-versions", api]
    for values in s.values_files:
        argv += ["--values", values]
    return argv


def render_argv(s: Settings) -> list[str]:
    """This same cnpg-render, as a child, so render keeps its own errors and exit codes."""
    return [sys.executable, "-m", "renderer", "render", "--release", s.app,
            "--namespace", s.namespace, "--overlay", s.overlay]


def generate(env: dict[str, str], appdir: Path) -> bytes:
    """Run helm template | cnpg-render render; the manifests, or ArgoError."""
    s = settings_from_env(env, appdir)
    if not (appdir / s.overlay).is_file():
        raise ArgoError(f"overlay {s.overlay!r} not found (paths are relative to the app directory)")
    helm = _run(helm_argv(s), b"", appdir, env, "helm template")
    if not helm.strip():
        raise ArgoError("helm template printed nothing; refusing to hand ArgoCD an empty manifest")
    out = _run(render_argv(s), helm, appdir, env, "cnpg-render render")
    if not out.strip():
        raise ArgoError("cnpg-render render printed nothing; refusing to hand ArgoCD an empty manifest")
    return out


def _run(argv: list[str], stdin: bytes, cwd: Path, env: dict[str, str], what: str) -> bytes:
    """Run one step; its stderr goes straight to ours (ArgoCD shows it on failure)."""
    try:
        proc = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, cwd=cwd, env=env)
    except OSError as exc:
        raise ArgoError(f"{what}: cannot run {argv[0]}: {exc.strerror}") from None
    if proc.returncode != 0:
        raise ArgoError(f"{what} failed (exit {proc.returncode})")
    return proc.stdout


def missing_dependencies(appdir: Path) -> list[dict]:
    """The Chart.lock dependencies that charts/ holds neither packaged nor unpacked."""
    import yaml

    lock = appdir / "Chart.lock"
    if not lock.is_file():
        return []
    try:
        dependencies = (yaml.safe_load(lock.read_text(encoding="utf-8")) or {}).get("dependencies") or []
    except (yaml.YAMLError, UnicodeDecodeError, AttributeError):
        raise ArgoError("Chart.lock cannot be read as YAML") from None
    return [d for d in dependencies if isinstance(d, dict) and not _vendored(appdir / "charts", d)]


def _vendored(charts: Path, dependency: dict) -> bool:
    name = str(dependency.get("name"))
    return (charts / f"{name}-{dependency.get('version')}.tgz").is_file() or (charts / name / "Chart.yaml").is_file()


def repositories(dependencies: list[dict]) -> list[str]:
    """The http(s) repositories to add; oci:// and file:// need none, an alias cannot be resolved here."""
    urls = set()
    for dependency in dependencies:
        repository = str(dependency.get("repository") or "")
        if repository.startswith(("@", "alias:")):
            raise ArgoError(f"Chart.lock: {dependency.get('name')} comes from the repository alias {repository}, "
                            "which this sidecar does not know: use the repository's URL in Chart.yaml")
        if repository.startswith(("http://", "https://")):
            urls.add(repository)
    return sorted(urls)


def init(env: dict[str, str], appdir: Path) -> None:
    """Build the chart's dependencies when Chart.lock asks for ones that are not vendored."""
    missing = missing_dependencies(appdir)
    if not missing:
        return
    with tempfile.TemporaryDirectory(prefix="cnpg-render-helm-") as home:
        helm_env = {**env, "HELM_CONFIG_HOME": f"{home}/config", "HELM_CACHE_HOME": f"{home}/cache",
                    "HELM_DATA_HOME": f"{home}/data"}
        for url in repositories(missing):
            name = "dep-" + hashlib.sha256(url.encode()).hexdigest()[:12]
            _run(["helm", "repo", "add", name, url], b"", appdir, helm_env, "helm repo add")
        _run(["helm", "dependency", "build"], b"", appdir, helm_env, "helm dependency build")


def _cmp_step(step) -> None:
    """Run one CMP step in the app directory; an ArgoError is the one line the UI shows."""
    try:
        out = step(dict(os.environ), Path.cwd())
    except ArgoError as exc:
        click.echo(f"cnpg-render: error: argocd: {exc}", err=True)
        sys.exit(1)
    if out:
        sys.stdout.buffer.write(out)
        sys.stdout.buffer.flush()


@click.command("argocd-init")
def init_command() -> None:
    """ArgoCD CMP init: helm dependency build when Chart.lock names dependencies not in charts/."""
    _cmp_step(init)


@click.command("argocd-generate")
def command() -> None:
    """ArgoCD CMP generate: helm template | render, configured from ARGOCD_* env."""
    _cmp_step(generate)
