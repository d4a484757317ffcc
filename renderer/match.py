"""Which overlay entry targets which Cluster.

An entry `cnpg.<name>` matches, by default, a Cluster named `<name>` or one whose
name ends in `-cnpg-<name>` (TrueCharts names Clusters `<fullname>-cnpg-<name>`); an
explicit `match` narrows by name glob, namespace and labels."""

from __future__ import annotations

from fnmatch import fnmatchcase

from renderer.cnpg.meta import API_GROUP
from renderer.errors import Notice, RenderError
from renderer.overlay.model import Entry
from renderer.truecharts import INFIX

# Entries whose match must be tried on every Cluster (a name glob with wildcards, or a
# namespace or labels alone). Every other entry names its Cluster and is looked up by
# name, so matching costs no more than reading the Clusters; these are capped, so that
# an overlay of thousands of globs and a stream of thousands of Clusters cannot make a
# render run for minutes.
MAX_SCANNING_ENTRIES = 100
_LISTED = 10  # Clusters named in an error: the line stays readable with thousands of them


def matches(entry: Entry, name: str, namespace: str | None, labels: dict) -> bool:
    m = entry.match
    if m is None:
        return name == entry.name or name.endswith(INFIX + entry.name)
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
    for entry, found in zip(entries, _matched(entries, clusters)):
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


def _matched(entries: list[Entry], clusters: list) -> list[list]:
    """For each entry, the Clusters it matches, in stream order."""
    named: dict[str, list[int]] = {}
    scanning: list[int] = []
    for i, entry in enumerate(entries):
        name = _named(entry)
        if name is None:
            scanning.append(i)
        else:
            named.setdefault(name, []).append(i)
    if len(scanning) > MAX_SCANNING_ENTRIES:
        entry = entries[scanning[MAX_SCANNING_ENTRIES]]
        raise RenderError(entry.where("match"), f"more than {MAX_SCANNING_ENTRIES} entries match by a name glob, "
                                                "a namespace or labels alone, and each is tried on every Cluster: "
                                                "write one glob that matches the Clusters of several entries")
    lengths = {len(name) for name in named}
    found: list[list] = [[] for _ in entries]
    for cluster in clusters:
        candidates = {i for key in _keys(cluster.name, lengths) for i in named.get(key, ())}
        for i in sorted(candidates.union(scanning)):
            if matches(entries[i], cluster.name, cluster.namespace, cluster.labels):
                found[i].append(cluster)
    return found


def _named(entry: Entry) -> str | None:
    """The name a Cluster must have, or end in after `-cnpg-`, for `entry` to match it;
    None when only trying tells (a glob with wildcards, or no name)."""
    if entry.match is None:
        return entry.name
    glob = entry.match.name
    return glob if glob is not None and not any(c in glob for c in "*?[") else None


def _keys(name: str, lengths: set[int]) -> list[str]:
    """`name`, and what follows each `-cnpg-` in it that is as long as some entry's
    name: every name under which an entry may match it. Only those lengths are cut, so
    a hostile name full of `-cnpg-` costs one pass, not one copy per occurrence."""
    keys, at = [name], name.find(INFIX)
    while at >= 0:
        if len(name) - at - len(INFIX) in lengths:
            keys.append(name[at + len(INFIX):])
        at = name.find(INFIX, at + 1)
    return keys


def _listing(clusters: list, unreadable: list[str] | tuple = ()) -> str:
    names = ", ".join(f"{c.namespace}/{c.name}" if c.namespace else c.name for c in clusters[:_LISTED])
    more = f" and {len(clusters) - _LISTED} more" if len(clusters) > _LISTED else ""
    parts = [f"Clusters found: {names}{more}" if clusters else f"the input holds no {API_GROUP} Cluster"]
    if unreadable:
        parts.append(f"{', '.join(unreadable)} could not be read and may hold one: fix "
                     + ("it" if len(unreadable) == 1 else "them"))
    return f"({'; '.join(parts)})" + ("; set cnpg.<name>.match or optional: true" if clusters else "")
