"""The `cnpg-render` executable.

Helm and ArgoCD run it on every render, nearly always as
`cnpg-render [render] --overlay X [--release R] [--namespace N] [FILE|-]...`. That call
is read here, from the option table `renderer.cli` declares to click too, and never
loads click (a third of our start-up). Anything else — other commands, --help, other
flags, unusual spellings — goes to the click CLI, which owns usage and its errors.
Both paths run the command inside `renderer.guard`."""

from __future__ import annotations

import gc
import os
import sys

from renderer import guard
from renderer.shell import RENDER_OPTIONS, render_stream

# Set by the shell completion scripts click generates; such a call is never a render.
COMPLETE_ENV = "_CNPG_RENDER_COMPLETE"

_FLAGS = {flag: (parameter, repeatable) for parameter, (flags, repeatable) in RENDER_OPTIONS.items()
          for flag in flags}


def main(argv: list[str] | None = None) -> None:
    # A run lives for a render and builds no reference cycles worth collecting, but the
    # collector would sweep every object the imports create, again and again.
    gc.disable()
    args = sys.argv[1:] if argv is None else list(argv)
    plain = plain_render(args)
    if plain is None:
        from renderer.cli import run

        run(args)
        return
    guard.run("render", render_stream, **plain)


def plain_render(args: list[str]) -> dict | None:
    """The render parameters if `args` is a plain render call, else None."""
    if COMPLETE_ENV in os.environ:
        return None
    if not args:
        return None if sys.stdin.isatty() else _values()
    if args[0] == "render":
        args = args[1:]
    elif not args[0].startswith("-") or args[0] == "-":
        return None  # a command name or a file first: click tells them apart
    values = _values()
    words = iter(args)
    for word in words:
        if word == "-" or not word.startswith("-"):
            values["files"].append(word)
        elif not _take_option(word, words, values):
            return None
    values["overlays"] = tuple(values["overlays"])
    values["files"] = tuple(values["files"])
    return values


def _values() -> dict:
    return {"overlays": [], "release": None, "namespace": None, "files": []}


def _take_option(word: str, words, values: dict) -> bool:
    flag, has_value, value = word.partition("=")
    if flag not in _FLAGS or (has_value and not flag.startswith("--")):
        return False
    if not has_value:
        following = next(words, None)
        if following is None:
            return False
        value = following
    parameter, repeatable = _FLAGS[flag]
    if repeatable:
        values[parameter].append(value)
    elif values[parameter] is None:
        values[parameter] = value
    else:
        return False  # repeated: click's rule (the last one wins) applies
    return True
