"""CnpgBackup object -> overlay + options (the kustomize/KRM config conversion)."""

import pytest

from e2e_helpers import OVERLAYS
from renderer import kustomize, yamlcodec
from renderer.errors import RenderError
from renderer.overlay import source

CONFIG = yamlcodec.load((OVERLAYS / "kustomize" / "plain" / "cnpg-backup.yaml").read_text())


def read(config: dict) -> source.Source:
    """The config object as the plugin reads its file."""
    return source.read("cfg", yamlcodec.dump(config))


def test_options_are_taken_out_and_the_rest_is_the_overlay():
    overlay, context = kustomize.config_from(read(dict(CONFIG, namespace="shop")), "cfg")
    assert (context.release, context.namespace) == ("shop", "shop")
    assert list(overlay.cnpg) == ["main"]


@pytest.mark.parametrize("change, message", [
    ({"kind": "Other"}, "expected a cnpg-render.io/v1 CnpgBackup"),
    ({"release": 3}, "CnpgBackup/backups: release: must be a string"),
    ({"bogus": 1}, "bogus"),
])
def test_bad_config_is_a_render_error(change, message):
    with pytest.raises(RenderError, match=message):
        kustomize.config_from(read({**CONFIG, **change}), "cfg")
