"""The overlay: read once, validated once, into typed objects (see `model`)."""

from __future__ import annotations

from renderer.errors import RenderError
from renderer.overlay import defaults as _defaults
from renderer.overlay import source as _source
from renderer.overlay.checks import check
from renderer.overlay.convert import Converter, backups_not_enabled
from renderer.overlay.model import Overlay


def parse(texts: list[tuple[str, str]], wrapper: tuple[str, ...] = ()) -> Overlay:
    """Overlay from (file name, text) pairs; later files override earlier ones.
    `wrapper`: top-level keys of an object the overlay is written in (kustomize's
    CnpgBackup), which are not overlay keys; reading the whole text keeps every
    line number the user's."""
    sources = [_source.read(name, text) for name, text in texts]
    for source in sources:
        for key in wrapper:
            source.values.pop(key, None)
    merged = _defaults.apply(_source.merge(sources))
    overlay = Converter(merged).object(Overlay, merged.values, ())
    overlay.files = tuple(name for name, _ in texts)
    overlay.notices = tuple(backups_not_enabled(merged))
    check(overlay)
    return overlay


def load(paths: list[str]) -> Overlay:
    texts = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:  # not pathlib: 5 ms of imports on every render
                texts.append((path, handle.read()))
        except OSError as exc:
            raise RenderError(path, f"cannot read overlay: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise RenderError(path, "overlay is not UTF-8 text") from None
    return parse(texts)
