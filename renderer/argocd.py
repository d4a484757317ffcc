"""ArgoCD Config Management Plugin edge: `cnpg-render argocd-init` and `argocd-generate`.

`init` (run before every generate, in the app directory) builds the chart's
dependencies when Chart.lock names ones that charts/ does not hold: ArgoCD's native
Helm does that, and a chart repository rarely vendors them. `helm dependency build`
only downloads from repositories Helm knows, so each http(s) repository of Chart.lock
is added first, into a Helm home of its own that goes away afterwards.

The CMP server runs `generate` without a shell, in the Application's source
directory (inside a fresh copy of the repository it unpacked for this request), with
the build environment (ARGOCD_APP_NAME, ARGOCD_APP_NAMESPACE, ARGOCD_APP_SOURCE_PATH,
KUBE_VERSION, KUBE_API_VERSIONS), the Application's plugin parameters as JSON in
ARGOCD_APP_PARAMETERS and its plugin env as ARGOCD_ENV_*. This module turns that
environment into

    helm template <app> . --namespace <ns> --include-crds [--kube-version …]
        [--api-versions …]… [--values <file>]…
      | render --release <app> --namespace <ns> --overlay <overlay>

(helm as a child without a shell, render in this process), failing loudly: ArgoCD
prunes everything when a plugin prints nothing and exits 0, so a failed or empty
`helm template` is an error here, never an empty success.

The sidecar is shared by every team that can create an Application, so the paths an
Application names are untrusted: overlay and values files must be files inside the
checked-out repository (no URLs, which helm would fetch from the sidecar; no `..` or
symlink out; the repository root is found by taking the normalised source path off
the real app directory, so `..` in it cannot move the root up).

Parameter defaults are NOT sent by ArgoCD (the announcement only informs the
UI), so DEFAULTS below must equal `parameters.static` in deploy/argocd/plugin.yaml
(a test checks that).
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import click

from renderer import guard
from renderer.errors import RenderError

# name -> default; mirrored in deploy/argocd/plugin.yaml parameters.static.
DEFAULTS: dict[str, object] = {"overlay": "cnpg-overlay.yaml", "values-files": []}
# Plugin env (spec.source.plugin.env, seen as ARGOCD_ENV_<NAME>) that can stand in
# for a parameter; values files are comma-separated there.
ENV_NAMES = {"overlay": "ARGOCD_ENV_CNPG_OVERLAY", "values-files": "ARGOCD_ENV_CNPG_VALUES_FILES"}
# What helm's values reader takes for a URL (Go's url.Parse scheme): http(s), oci and any getter plugin's.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


class ArgoError(RenderError):
    """A problem with the ArgoCD environment or a pipeline step; one line for the UI."""

    def __init__(self, what: str):
        super().__init__("argocd", what)


@dataclass(frozen=True)
class Settings:
    """Everything generate needs, resolved from the environment once. Paths are the
    real files, checked to lie inside the repository."""

    app: str
    namespace: str
    overlay: Path
    values_files: tuple[Path, ...]
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
        raise ArgoError(f"ARGOCD_APP_PARAMETERS: not a list of ArgoCD parameters ({type(exc).__name__}); "
                        'expected [{"name": "overlay", "string": "cnpg-overlay.yaml"}, ...]') from None


def _from_env(name: str, env: dict[str, str]) -> object | None:
    """An ARGOCD_ENV_* fallback for a parameter, or None when unset/blank."""
    value = env.get(ENV_NAMES[name], "").strip()
    if not value:
        return None
    return [v.strip() for v in value.split(",") if v.strip()] if name == "values-files" else value


def repo_root(env: dict[str, str], appdir: Path) -> Path:
    """The checked-out repository: the real app directory minus ARGOCD_APP_SOURCE_PATH.

    The source path is normalised first, as ArgoCD cleans it when it picks the app
    directory, so `a/../../x` cannot count for three levels; it must not leave the
    repository, and it must lead from the root back to the app directory (a symlink on
    the way would make the count wrong), else we refuse rather than guess."""
    raw = env.get("ARGOCD_APP_SOURCE_PATH") or "."
    source = posixpath.normpath(raw)
    if source.startswith(("/", "../")) or source == "..":
        raise ArgoError(f"ARGOCD_APP_SOURCE_PATH {raw!r} leaves the repository")
    appdir = appdir.resolve()
    depth = 0 if source == "." else len(source.split("/"))
    if depth >= len(appdir.parts):
        raise ArgoError(f"ARGOCD_APP_SOURCE_PATH {raw!r} is deeper than the app directory {appdir}")
    root = appdir.parents[depth - 1] if depth else appdir
    if (root / source).resolve() != appdir:
        raise ArgoError(f"ARGOCD_APP_SOURCE_PATH {raw!r} does not lead to the app directory {appdir}, "
                        "so the repository root cannot be told")
    return root


def inside(value: str, what: str, appdir: Path, root: Path) -> Path:
    """The real file `value` names (relative to the app directory), or ArgoError: not a
    URL or any other scheme (helm would fetch it from the sidecar), not `-` (stdin),
    and a regular file inside the repository, symlinks followed."""
    if value == "-" or not value.strip():
        raise ArgoError(f"{what} {value!r} is not a file name; write a path relative to the app directory")
    scheme = _SCHEME.match(value)
    if scheme:  # the value is not shown: a URL can carry a password
        raise ArgoError(f"{what} is a URL ({scheme.group().lower()}//…): only files inside the repository are "
                        "read; commit the file and give its path (write ./name if the name holds a colon)")
    try:
        real = (appdir / value).resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL byte
        raise ArgoError(f"{what} {value!r} is not a file name we can read") from None
    if not real.is_relative_to(root):  # checked first: nothing is said about files outside
        raise ArgoError(f"{what} {value!r} is outside the repository (through '..', an absolute path or a "
                        "symlink); name a file inside it")
    if not real.is_file():
        missing = "not found (paths are relative to the app directory)" if not real.exists() else "not a regular file"
        raise ArgoError(f"{what} {value!r} is {missing}")
    return real


def settings_from_env(env: dict[str, str], appdir: Path) -> Settings:
    """Resolve parameter > ARGOCD_ENV_* > default, and the build variables."""
    params = _parameters(env.get("ARGOCD_APP_PARAMETERS"))
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise ArgoError(f"ARGOCD_APP_PARAMETERS: unknown parameter(s) {', '.join(unknown)} "
                        f"(known: {', '.join(DEFAULTS)})")

    def pick(name):
        for value in (params.get(name), _from_env(name, env)):
            if value is not None:
                return value
        return DEFAULTS[name]

    overlay, values = pick("overlay"), pick("values-files")
    if not isinstance(overlay, str) or not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ArgoError('parameters: overlay must be a string and values-files an array of strings, '
                        'e.g. {"name": "values-files", "array": ["values-prod.yaml"]}')
    for key in ("ARGOCD_APP_NAME", "ARGOCD_APP_NAMESPACE"):
        if not env.get(key):
            raise ArgoError(f"{key} is not set (run by the ArgoCD CMP server?)")
    root = repo_root(env, appdir)
    return Settings(
        app=env["ARGOCD_APP_NAME"],
        namespace=env["ARGOCD_APP_NAMESPACE"],
        overlay=inside(overlay, "overlay", appdir, root),
        values_files=tuple(inside(v, "values file", appdir, root) for v in values),
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
        argv += ["--values", str(values)]
    return argv


def generate(env: dict[str, str], appdir: Path):
    """helm template | render; the Rendered result, or ArgoError."""
    from renderer.shell import render_bytes

    s = settings_from_env(env, appdir)
    guard.note(release=s.app)
    manifests = _helm(helm_argv(s), appdir, env)
    if not manifests.strip():
        raise ArgoError("helm template printed nothing; refusing to hand ArgoCD an empty manifest")
    rendered = render_bytes((str(s.overlay),), s.app, s.namespace, manifests)
    if not any(bytes(piece).strip() for piece in rendered.output.pieces):
        raise ArgoError("the render is empty; refusing to hand ArgoCD an empty manifest")
    return rendered


def _helm(argv: list[str], cwd: Path, env: dict[str, str]) -> bytes:
    """Run helm; its warnings become ours, its failure one line with its last words."""
    what = f"helm {argv[1]}" + (f" {argv[2]}" if argv[1] in ("repo", "dependency") else "")
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, cwd=cwd, env=env)
    except OSError as exc:
        raise ArgoError(f"{what}: cannot run {argv[0]}: {exc.strerror}; put helm on the sidecar's PATH") from None
    said = [line for line in proc.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    if proc.returncode != 0:
        cause = [line for line in said if line.startswith("Error:")] or said[-1:]  # not its "Use --debug" hint
        raise ArgoError(f"{what} failed (exit {proc.returncode})" + (f": {'; '.join(cause)}" if cause else ""))
    guard.warn(f"{what}: {line}" for line in said)
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
            _helm(["helm", "repo", "add", name, url], appdir, helm_env)
        _helm(["helm", "dependency", "build"], appdir, helm_env)


@click.command("argocd-init")
def init_command() -> None:
    """ArgoCD CMP init: helm dependency build when Chart.lock names dependencies not in charts/."""
    init(dict(os.environ), Path.cwd())


@click.command("argocd-generate")
def command() -> None:
    """ArgoCD CMP generate: helm template | render, configured from ARGOCD_* env."""
    rendered = generate(dict(os.environ), Path.cwd())
    guard.warn(rendered.notices)
    guard.emit(rendered.output)
