"""The pure core: (parsed candidate documents, overlay, context) -> edits and notices.

No I/O here. The stream layer hands us only the documents that can be targets, parsed;
we say, per document index, what replaces it and what goes before and after it."""

from __future__ import annotations

from dataclasses import field
from typing import TYPE_CHECKING

from renderer import cnpg, match
from renderer.cnpg import meta, migration
from renderer.cnpg.cluster import ClusterEdit, Target, edit
from renderer.errors import Notice, RenderError, document_where
from renderer.lineage import uses_auto
from renderer.overlay.model import Overlay
from renderer.records import record

if TYPE_CHECKING:
    from renderer import facts


@record(frozen=True)
class Context:
    """What the shell knows that the stream does not: release, namespace, store and live facts."""

    release: str | None = None
    namespace: str | None = None
    facts: facts.Facts | None = None  # store and live state, gathered by the shell (renderer.gather)


@record
class Edit:
    """What happens to one input document: replaced by `obj` (None: dropped), with
    new documents before and after it."""

    obj: object = None
    drop: bool = False
    before: list[dict] = field(default_factory=list)
    after: list[dict] = field(default_factory=list)


@record
class Result:
    """Per input document what happens to it, the notices, and each edited Cluster."""

    edits: dict[int, Edit]
    notices: list[Notice]
    clusters: list[tuple[Target, ClusterEdit]] = field(default_factory=list)
    assessments: list[facts.Assessment] = field(default_factory=list)  # with Context.facts only


@record(eq=False)
class _Found:
    """A Cluster in the stream: top-level (item None) or item `item` of a List."""

    index: int
    item: int | None
    obj: dict
    name: str
    namespace: str | None
    labels: dict
    where: str


def transform(docs: list[tuple[int, object]], overlay: Overlay, context: Context) -> Result:
    entries = [e for e in overlay.cnpg.values() if e.enabled]
    result_notices = [] if entries else [Notice(", ".join(overlay.files) or "overlay",
                                                "names no enabled cnpg.<name> entry: the stream passes through unchanged")]
    found = _clusters(docs, context)
    pairs = match.pair(entries, found)
    edited = {id(f): _edit(entry, overlay, f, context) for entry, f in pairs}
    owners = {(f.namespace, f.name) for _, f in pairs}
    by_position = {(f.index, f.item): edited[id(f)][1] for f in found if id(f) in edited}
    methods = {(f.namespace, f.name): edited[id(f)][1].scheduled_method for _, f in pairs
               if edited[id(f)][1].scheduled_method}
    result = Result({}, result_notices)
    for index, obj in docs:
        _apply(index, obj, by_position, owners, context, result)
        if index not in result.edits:
            _switch_scheduled(index, obj, methods, context, result)
    for _, f in pairs:
        target, cluster_edit, assessment = edited[id(f)]
        result.notices.extend(cluster_edit.notices)
        result.clusters.append((target, cluster_edit))
        if assessment is not None:
            result.assessments.append(assessment)
    return result


def _edit(entry, overlay, f: _Found, context: Context) -> tuple[Target, ClusterEdit, facts.Assessment | None]:
    labels = f.labels
    release = context.release or labels.get("app.kubernetes.io/instance")
    target = Target(f.obj, f.where, f.namespace, str(release) if release else None)
    if context.facts is None and not uses_auto(entry):
        return target, edit(entry, overlay, target), None
    # store/live rules: only when facts or `auto` are in play
    from renderer import facts

    return target, *facts.edit_cluster(entry, overlay, target, context.facts, edit)


def _clusters(docs, context: Context) -> list[_Found]:
    found = []
    for index, obj in docs:
        if cnpg.is_cluster(obj):
            found.append(_found(index, None, obj, context))
        elif _is_list(obj):
            found += [_found(index, i, item, context) for i, item in enumerate(obj["items"]) if cnpg.is_cluster(item)]
    _refuse_duplicates(found)
    return found


def _refuse_duplicates(found: list[_Found]) -> None:
    """The same Cluster twice would get its companions twice; the API server would
    keep only one of each, silently."""
    seen: dict[tuple, _Found] = {}
    for f in found:
        first = seen.setdefault((f.namespace, f.name), f)
        if first is not f:
            raise RenderError(f.where, f"the same Cluster is also {first.where}")


def _found(index: int, item: int | None, obj: dict, context: Context) -> _Found:
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    name = str(metadata.get("name") or "")
    where = document_where(index, "Cluster", name) + (f" items[{item}]" if item is not None else "")
    labels = metadata.get("labels") or {}
    namespace = metadata.get("namespace") or context.namespace
    return _Found(index, item, obj, name, namespace, labels if isinstance(labels, dict) else {}, where)


def _is_list(obj) -> bool:
    return isinstance(obj, dict) and obj.get("kind") == "List" and isinstance(obj.get("items"), list)


def _is_stale(obj, owners: set, context: Context) -> bool:
    """An object we generated on an earlier pass for a Cluster we edit again now:
    it is regenerated, so the old copy goes (rendering twice never duplicates)."""
    owner = meta.generated_for(obj)
    if owner is None:
        return False
    namespace = (obj.get("metadata") or {}).get("namespace") or context.namespace
    return (namespace, owner) in owners


def _apply(index, obj, by_position: dict, owners: set, context: Context, result: Result) -> None:
    if _is_stale(obj, owners, context):
        result.edits[index] = Edit(drop=True)
    elif (index, None) in by_position:
        e = by_position[(index, None)]
        result.edits[index] = Edit(obj=e.cluster, before=e.before, after=e.after)
    elif _is_list(obj) and (any(k[0] == index for k in by_position) or
                            any(_is_stale(i, owners, context) for i in obj["items"])):
        result.edits[index] = Edit(obj=_edit_list(index, obj, by_position, owners, context))


def _switch_scheduled(index: int, obj, methods: dict, context: Context, result: Result) -> None:
    """A chart-rendered ScheduledBackup of a Cluster now archiving through the plugin
    would keep taking in-tree backups, which fail: switch it too."""
    metadata = (obj.get("metadata") or {}) if isinstance(obj, dict) else {}
    switched = migration.scheduled_backup(obj, methods, metadata.get("namespace") or context.namespace)
    if switched is not None:
        result.edits[index] = Edit(obj=switched)
        result.notices.append(Notice(document_where(index, "ScheduledBackup", metadata.get("name")),
                                     f"the chart's ScheduledBackup now uses method: {switched['spec']['method']} "
                                     "(its Cluster archives through the barman-cloud plugin)"))


def _edit_list(index: int, obj: dict, by_position: dict, owners: set, context: Context) -> dict:
    items = []
    for i, item in enumerate(obj["items"]):
        if _is_stale(item, owners, context):
            continue
        e = by_position.get((index, i))
        items += [*e.before, e.cluster, *e.after] if e else [item]
    return {**obj, "items": items}
