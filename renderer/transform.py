"""The pure core, in its two halves around the only I/O (`renderer.gather`):

    plan_stream:  find Clusters → match entries → plan each Cluster's lineage
    apply:        resolve open revisions → judge against the facts → write the edits

No I/O here. The stream layer hands us only the documents that can be targets, parsed;
`apply` says, per document index, what replaces it and what goes before and after it.
`render`, `plan`, `diff`, `bump` and the store checks all consume the same Plans."""

from __future__ import annotations

from renderer import find, match
from renderer.cnpg import meta, migration
from renderer.cnpg.cluster import ClusterEdit, write
from renderer.errors import Notice, RenderError, about, document_where
from renderer.lineage import Plan, plan
from renderer.overlay.model import Overlay
from renderer.records import field, record
from renderer.yamlcodec import mapping_at

# Objects a render may add beside the Clusters: a glob entry's ScheduledBackups and
# Backups are added for every Cluster it matches, so a small overlay and a small stream
# could otherwise ask for millions (and minutes, and gigabytes). A fleet of thousands of
# Clusters adds a few per Cluster.
MAX_ADDED = 100_000

TYPE_CHECKING = False  # see renderer.records
if TYPE_CHECKING:  # the store/live stages load only when facts or `auto` are in play
    from renderer.facts import Facts
    from renderer.judge import Verdict


@record(frozen=True)
class Context:
    """What the shell knows that the stream does not."""

    release: str | None = None
    namespace: str | None = None


@record
class Planned:
    """The plans of a stream, before any fact is read or any field written."""

    plans: list[Plan]
    notices: list[Notice]
    namespace: str | None = None  # --namespace: the namespace of objects that name none


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
    """Per input document what happens to it, the notices, and each Cluster's settled
    plan with its edit (and its verdict, when facts were read)."""

    edits: dict[int, Edit]
    notices: list[Notice]
    clusters: list[tuple[Plan, ClusterEdit]] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)


def plan_stream(docs: list[tuple[int, object]], overlay: Overlay, context: Context,
                unreadable: list[Notice] | tuple = ()) -> Planned:
    """find → match → plan: every targeted Cluster's lineage, revisions possibly open.
    `unreadable`: documents that may hold a Cluster but could not be read (their
    notices), named wherever an entry matches nothing."""
    entries = [e for e in overlay.cnpg.values() if e.enabled]
    notices = [] if entries else [Notice(", ".join(overlay.files) or "overlay",
                                         "names no enabled cnpg.<name> entry: the stream passes through unchanged")]
    notices += [*overlay.notices, *unreadable]
    plans = []
    pairs = match.pair(entries, find.clusters(docs, context.namespace), [n.where for n in unreadable], notices)
    for entry, found in pairs:
        assert isinstance(found, find.Found)  # pair gives back the clusters it was given
        with about(found.where):  # an error at an overlay line still names its Cluster (KRM results)
            find.check_shape(found)
            inherited = migration.inherited(found.obj) if entry.engine == "plugin" else None
            plans.append(plan(entry, overlay, found, context.release, inherited))
    return Planned(plans, notices, context.namespace)


def apply(docs: list[tuple[int, object]], planned: Planned, facts: Facts | None, collect: bool = False) -> Result:
    """resolve → judge → write for every plan, then what each document becomes.
    `collect` (plan): unsafe verdicts are reported instead of refused."""
    result = Result({}, list(planned.notices))
    added = 0
    for p in planned.plans:
        with about(p.cluster.where):
            settled, verdict = _decide(p, facts)
            if verdict is not None:
                refusal = verdict.refusal()
                if refusal is not None and not collect:
                    raise refusal
                result.verdicts.append(verdict)
            edit = write(settled)
            added += len(edit.before) + len(edit.after)
            if added > MAX_ADDED:
                raise RenderError(p.entry.where("backups"), f"the render would add more than {MAX_ADDED:,} objects "
                                  "(ScheduledBackups, Backups, Secrets) beside the Clusters entries match: match "
                                  "fewer Clusters per entry, or list fewer scheduledBackups and backups")
        edit.notices[:0] = settled.notices
        edit.notices += verdict.notices(settled.cluster.where) if verdict else []
        result.clusters.append((settled, edit))
    _assemble(docs, planned.namespace, result)
    for _, edit in result.clusters:
        result.notices += edit.notices
    return result


def _decide(p: Plan, facts: Facts | None) -> tuple[Plan, Verdict | None]:
    """The settled plan and, with facts, its verdict. The store/live rules are imported
    here, so the plain render path (no facts, no `auto`) never loads them."""
    if p.is_open:
        from renderer.resolve import resolve

        p = resolve(p, facts)
    if facts is None:
        return p, None
    from renderer.judge import judge

    return p, judge(p, facts)


def _assemble(docs: list[tuple[int, object]], namespace: str | None, result: Result) -> None:
    owners = {(p.cluster.namespace, p.cluster.name) for p, _ in result.clusters}
    by_position = {(p.cluster.index, p.cluster.item): e for p, e in result.clusters}
    methods = {(p.cluster.namespace, p.cluster.name): e.scheduled_method for p, e in result.clusters
               if e.scheduled_method}
    for index, obj in docs:
        _apply(index, obj, by_position, owners, namespace, result)
        if index not in result.edits:
            _switch_scheduled(index, obj, methods, namespace, result)


def _namespace(obj, default: str | None) -> str | None:
    namespace = mapping_at(obj, "metadata").get("namespace")
    return namespace if isinstance(namespace, str) and namespace else default


def _is_stale(obj, owners: set, namespace: str | None) -> bool:
    """An object we generated on an earlier pass for a Cluster we edit again now:
    it is regenerated, so the old copy goes (rendering twice never duplicates)."""
    owner = meta.generated_for(obj)
    return owner is not None and (_namespace(obj, namespace), owner) in owners


def _apply(index: int, obj, by_position: dict, owners: set, namespace: str | None, result: Result) -> None:
    if _is_stale(obj, owners, namespace):
        result.edits[index] = Edit(drop=True)
    elif (index, None) in by_position:
        e = by_position[(index, None)]
        result.edits[index] = Edit(obj=e.cluster, before=e.before, after=e.after)
    elif find.is_list(obj) and (any(k[0] == index for k in by_position) or
                                any(_is_stale(i, owners, namespace) for i in obj["items"])):
        result.edits[index] = Edit(obj=_edit_list(index, obj, by_position, owners, namespace))


def _switch_scheduled(index: int, obj, methods: dict, namespace: str | None, result: Result) -> None:
    """A chart-rendered ScheduledBackup of a Cluster now archiving through the plugin
    would keep taking in-tree backups, which fail: switch it too."""
    switched = migration.scheduled_backup(obj, methods, _namespace(obj, namespace))
    if switched is not None:
        result.edits[index] = Edit(obj=switched)
        result.notices.append(Notice(document_where(index, "ScheduledBackup", mapping_at(obj, "metadata").get("name")),
                                     f"the chart's ScheduledBackup now uses method: {switched['spec']['method']} "
                                     "(its Cluster archives through the barman-cloud plugin)"))


def _edit_list(index: int, obj: dict, by_position: dict, owners: set, namespace: str | None) -> dict:
    items = []
    for i, item in enumerate(obj["items"]):
        if _is_stale(item, owners, namespace):
            continue
        e = by_position.get((index, i))
        items += [*e.before, e.cluster, *e.after] if e else [item]
    return {**obj, "items": items}
