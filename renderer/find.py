"""Find: the CNPG Clusters of a parsed stream, top-level or inside a `v1/List`.

The first stage of the pipeline (find → match → plan → gather → resolve → judge →
write). It reads the parsed candidate documents and says where each Cluster is, with
the name, namespace and labels the later stages select and report by; it changes
nothing."""

from __future__ import annotations

from renderer import cnpg
from renderer.errors import RenderError, document_where
from renderer.records import record
from renderer.yamlcodec import is_list, misshapen  # kubectl's rule, kept in one place

INSTANCE_LABEL = "app.kubernetes.io/instance"
HIBERNATION = "cnpg.io/hibernation"  # CNPG's declarative hibernation: "on" stops every instance

# Fields we read or write, and the type the API server would demand of them (see
# yamlcodec.misshapen).
_SHAPES = (("metadata", dict), ("metadata.name", str), ("metadata.namespace", str), ("metadata.labels", dict),
           ("metadata.annotations", dict), ("spec", dict), ("spec.bootstrap", dict), ("spec.bootstrap.initdb", dict),
           ("spec.bootstrap.recovery", dict), ("spec.bootstrap.pg_basebackup", dict),
           ("spec.externalClusters", list), ("spec.externalClusters[]", dict), ("spec.externalClusters[].name", str),
           ("spec.backup", dict), ("spec.plugins", list), ("spec.plugins[]", dict), ("spec.plugins[].name", str))


@record(frozen=True, eq=False)
class Found:
    """A Cluster in the stream: document `index`, and `item` of a List (None: top-level)."""

    index: int
    item: int | None
    obj: dict
    name: str
    namespace: str | None  # metadata.namespace, else --namespace
    labels: dict
    where: str  # a Document: "document 4 (Cluster/pg)", "document 4 (Cluster/pg) items[0]"

    @property
    def id(self) -> str:
        """`namespace/name` (or the name alone), as plan and the live state name it."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def hibernated(self) -> bool:
        annotations = self.obj["metadata"].get("annotations") if isinstance(self.obj.get("metadata"), dict) else None
        return isinstance(annotations, dict) and annotations.get(HIBERNATION) == "on"

    @property
    def instance_label(self) -> str | None:
        value = self.labels.get(INSTANCE_LABEL)
        return str(value) if value else None


def clusters(docs: list[tuple[int, object]], namespace: str | None) -> list[Found]:
    """Every Cluster of the documents, in stream order; the same Cluster twice is refused."""
    found = []
    for index, obj in docs:
        if not isinstance(obj, dict):  # neither a Cluster nor a List
            continue
        if cnpg.is_cluster(obj):
            found.append(_found(index, None, obj, namespace))
        elif is_list(obj):
            found += [_found(index, i, item, namespace) for i, item in enumerate(obj["items"]) if cnpg.is_cluster(item)]
    _refuse_duplicates(found)
    return found


def check_shape(found: Found) -> None:
    """A Cluster whose fields have the wrong type is bad input, not a crash."""
    wrong = misshapen(found.obj, _SHAPES)
    if wrong:
        raise RenderError(found.where, wrong)


def _refuse_duplicates(found: list[Found]) -> None:
    """The same Cluster twice would get its companions twice; the API server would
    keep only one of each, silently."""
    seen: dict[tuple, Found] = {}
    for f in found:
        first = seen.setdefault((f.namespace, f.name), f)
        if first is not f:
            raise RenderError(f.where, f"the same Cluster is also {first.where}")


def _found(index: int, item: int | None, obj: dict, namespace: str | None) -> Found:
    declared = obj.get("metadata")
    metadata: dict = declared if isinstance(declared, dict) else {}
    name = _text(metadata.get("name"))  # another type is refused if an entry matches it (check_shape)
    where = document_where(index, "Cluster", name, item)
    labels = metadata.get("labels") or {}
    return Found(index, item, obj, name, _text(metadata.get("namespace")) or namespace,
                 labels if isinstance(labels, dict) else {}, where)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
