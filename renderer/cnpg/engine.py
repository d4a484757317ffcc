"""Backup engines as a strategy. An engine says, in its own module, which Cluster fields
it writes, which objects it adds, and what a Backup or ScheduledBackup says to use it;
the Plan names the engines of each side (`Plan.writers`, `Plan.readers`) and the
writer (`cluster.py`) runs them. Engines:

- `barmanObjectStore` (`intree`): CNPG's in-tree Barman Cloud;
- `plugin` (`plugin`): the barman-cloud plugin;
- `volumeSnapshot` (`snapshot`): CSI VolumeSnapshots of the Cluster's volumes, beside
  either of the two for WAL.

A new engine is one module with an `ENGINE`, and its name here."""

from __future__ import annotations

import sys
from collections.abc import Callable

from renderer.records import record

_MODULES = {"barmanObjectStore": "intree", "plugin": "plugin", "volumeSnapshot": "snapshot"}


@record(frozen=True)
class Engine:
    """What one engine does to a Cluster. `archive(plan, edit)` writes the write side;
    `restore(plan, edit)` writes what the read side needs and returns its keys of
    spec.bootstrap.recovery (`source`, `volumeSnapshots`)."""

    name: str  # as the overlay says it (engine:, method:)
    writes: tuple[str, ...]  # the Cluster fields it writes
    adds: tuple[str, ...]  # the kinds of the objects it adds
    method: dict  # the Backup / ScheduledBackup fields that select it
    archive: Callable
    restore: Callable


def engine(name: str) -> Engine:
    """The engine called `name`; its module is imported only when a Cluster uses it."""
    module = f"renderer.cnpg.{_MODULES[name]}"
    __import__(module)  # not importlib: importing it costs every render 0.6 ms
    return sys.modules[module].ENGINE


def names() -> tuple[str, ...]:
    return tuple(_MODULES)
