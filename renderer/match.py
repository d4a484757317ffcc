"""Which overlay entry targets which Cluster.

An entry `cnpg.<name>` matches, by default, a Cluster named `<name>` or one whose
name ends in `-cnpg-<name>` (TrueCharts names Clusters `<fullname>-cnpg-<name>`); an
explicit `match` narrows by name glob, namespace and labels."""

from __future__ import annotations

from fnmatch import fnmatchcase

from renderer.cnpg.meta import API_GROUP
from renderer.errors import Notice, RenderError
from renderer.overlay.model import Entry


def matches(entry: Entry, name: str, namespace: str | None, labels: dict) -> bool:
    m = entry.match
    if m is None:
        return name == entry.name or name.endswith(f"-cnpg-{entry.name}")
    if m.name is not None and not fnmatchcase(name, m.name):
        return False
    if m.namespace is not None and m.namespace != namespace:
        return False
    return all(labels.get(k) == v for k, v in m.labels.items())


def pair(entries: list[Entry], clusters: list, unreadable: list[str] | tuple = (),
         notices: list[Notice] | None = None) -> list[tuple[Entry, object]]:
    """(entry, cluster) pairs. `clusters` items have .name, .namespace, .labels, .where.
    Unmatched entries and doubly matched Clusters are errors: silence there would mean
    a database without backups. An optional entry that matches nothing while some
    document could not be read (`unreadable`: where they are) says so in `notices`."""
    pairs: list[tuple[Entry, object]] = []
    owner: dict[int, str] = {}
    for entry in entries:
        found = [c for c in clusters if matches(entry, c.name, c.namespace, c.labels)]
        if not found and not entry.optional:
            raise RenderError(entry.where(), "matches no Cluster in the input " + _listing(clusters, unreadable))
        if not found and unreadable and notices is not None:
            notices.append(Notice(str(entry.where()), "matches no Cluster " + _listing(clusters, unreadable)))
        for cluster in found:
            if id(cluster) in owner:
                raise RenderError(cluster.where, f"matched by two overlay entries: cnpg.{owner[id(cluster)]} "
                                                 f"and cnpg.{entry.name}")
            owner[id(cluster)] = entry.name
            pairs.append((entry, cluster))
    return pairs


def _listing(clusters: list, unreadable: list[str] | tuple = ()) -> str:
    names = ", ".join(f"{c.namespace}/{c.name}" if c.namespace else c.name for c in clusters)
    parts = [f"Clusters found: {names}" if clusters else f"the input holds no {API_GROUP} Cluster"]
    if unreadable:
        parts.append(f"{', '.join(unreadable)} could not be read and may hold one: fix "
                     + ("it" if len(unreadable) == 1 else "them"))
    return f"({'; '.join(parts)})" + ("; set cnpg.<name>.match or optional: true" if clusters else "")
