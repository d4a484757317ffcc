"""Optional dependencies, and how a command asks for one.

A render needs PyYAML, click and jsonpatch only, so what Helm and ArgoCD run stays
small. Reading an object store (boto3, the Azure and Google SDKs), editing YAML in place (ruamel.yaml) and
checking CRD schemas (jsonschema, and google-re2 for their patterns) are pip extras (pyproject.toml). A command that
needs a missing one fails with its one error line saying which extra brings it."""

from __future__ import annotations

import importlib

from renderer.errors import RenderError

# import name (or its top-level package) -> the pip extra that installs it
EXTRAS = {"boto3": "store", "botocore": "store", "azure": "store", "google": "store", "cramjam": "store",
          "ruamel.yaml": "edit", "ruamel": "edit", "jsonschema": "validate", "re2": "validate"}


def how_to_get(module: str) -> str:
    extra = EXTRAS.get(module) or EXTRAS[module.split(".")[0]]
    return (f"needs {module}, which is not installed: pip install 'cnpg-render[{extra}]' "
            f"(pipx: pipx install --force 'cnpg-render[{extra}]')")


def require(module: str, where: str) -> None:
    """Fail with the one-line hint when `module` cannot be imported."""
    try:
        importlib.import_module(module)
    except ImportError:
        raise RenderError(where, how_to_get(module)) from None
