"""Bytes in, bytes out: the stream layer around the pure transform.

Still free of I/O: the CLI, the Helm/ArgoCD/kustomize adapters and the tests all call
`render` with the input bytes and get the output pieces back."""

from __future__ import annotations

import re

from renderer import stream, yamlcodec
from renderer.errors import Notice, RenderError, document_where
from renderer.overlay.model import Overlay
from renderer.records import record
from renderer.transform import Context, Planned, Result, apply, plan_stream

TYPE_CHECKING = False  # see renderer.records
if TYPE_CHECKING:
    from renderer.facts import Facts

# Top-level kinds of the documents the core reads: Clusters, ScheduledBackups (a
# migration may switch them to the plugin), and Lists that may hold either.
_TARGET_KINDS = frozenset({"Cluster", "ScheduledBackup", "List"})


@record
class Prepared:
    """A stream split and planned: everything decided that needs no facts."""

    chunks: stream.Documents
    docs: list[tuple[int, object]]  # the parsed candidate documents
    planned: Planned

    def secret(self, namespace: str | None, name: str) -> dict[str, str] | None:
        """The values of Secret `name` if the stream holds it (stringData over data,
        base64 decoded); None otherwise. For the store check's endpointCA only: it
        parses just the documents whose text names the Secret."""
        from renderer.find import is_list

        for chunk in stream.holding(self.chunks, name.encode()):
            if b"Secret" not in chunk.data:
                continue
            obj = _load(chunk)
            for item in obj["items"] if is_list(obj) else [obj]:
                if _is_secret(item, namespace, name, self.planned.namespace):
                    return _secret_values(item)
        return None


@record
class Rendered:
    """What a render produced: the output pieces, the notices, the core's result and the input's documents
    (for diff)."""

    output: stream.Output
    notices: list[Notice]
    result: Result
    chunks: stream.Documents


def prepare(buf: bytes | bytearray, overlay: Overlay, context: Context) -> Prepared:
    """Split, read the documents that can be targets, and plan every Cluster's lineage."""
    if stream.wide_encoding(buf):
        raise RenderError("input", "is UTF-16 or UTF-32 text: cnpg-render reads UTF-8 (convert it first, "
                                   "e.g. iconv -f UTF-16 -t UTF-8)")
    chunks = stream.split(buf)
    if not stream.has_content(chunks):
        # Nothing to render (Helm 3 with --output-dir sends an empty stdin): the stream
        # goes through as it came, whatever the overlay expects to find.
        return Prepared(chunks, [], Planned([], []))
    docs, unreadable = read_targets(chunks)
    return Prepared(chunks, docs, plan_stream(docs, overlay, context, unreadable))


def finish(prepared: Prepared, facts: Facts | None = None, collect: bool = False) -> Rendered:
    """Resolve, judge and write the prepared plans; join the output."""
    result = apply(prepared.docs, prepared.planned, facts, collect)
    return Rendered(_join(prepared.chunks, result), result.notices, result, prepared.chunks)


def render(buf: bytes | bytearray, overlay: Overlay, context: Context) -> Rendered:
    """A render without facts (the plain path Helm and ArgoCD run)."""
    return finish(prepare(buf, overlay, context))


def _is_secret(obj, namespace: str | None, name: str, default_namespace: str | None) -> bool:
    meta = obj.get("metadata") if isinstance(obj, dict) and obj.get("kind") == "Secret" else None
    return isinstance(meta, dict) and meta.get("name") == name and \
        (meta.get("namespace") or default_namespace) in (namespace, None)


def _secret_values(secret: dict) -> dict[str, str]:
    import base64

    values = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            values[str(key)] = base64.b64decode(str(value)).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            continue  # not text: no CA bundle
    values.update({str(k): str(v) for k, v in (secret.get("stringData") or {}).items()})
    return values


def read_targets(chunks: stream.Documents) -> tuple[list[tuple[int, object]], list[Notice]]:
    """(index, object) of every document that can be a target, and a notice for each
    that may hold a CNPG object but cannot be read. Two sieves: the text scan of
    `stream.candidates`, then the parser's events (`yamlcodec.top_level_kinds`); only
    what passes both is built."""
    docs, unreadable = [], []
    for chunk in stream.candidates(chunks):
        try:
            kinds = yamlcodec.top_level_kinds(chunk.body)
        except (yamlcodec.YamlError, UnicodeDecodeError) as exc:
            unreadable.append(_unreadable(chunk, exc))
            continue
        if kinds is None or kinds & _TARGET_KINDS or stream.OURS in chunk.data:
            docs.append((chunk.index, _load(chunk)))
    return docs, unreadable


def _load(chunk: stream.Chunk):
    """The document of `chunk`, or the one-line error that names it."""
    try:
        return yamlcodec.load(chunk.body)
    except UnicodeDecodeError:
        raise RenderError(document_where(chunk.index), "is not UTF-8 text") from None
    except yamlcodec.YamlError as exc:
        raise RenderError(document_where(chunk.index, *kind_and_name(chunk)), _problem(exc)) from None


def _unreadable(chunk: stream.Chunk, exc: Exception) -> Notice:
    """A document that may hold a CNPG object but cannot be read: an error when its
    text says it is a target, else it passes through unchanged, with a warning."""
    kind, name = kind_and_name(chunk)
    where = document_where(chunk.index, kind, name)
    problem = _problem(exc) if isinstance(exc, yamlcodec.YamlError) else "is not UTF-8 text"
    if kind in _TARGET_KINDS:
        raise RenderError(where, problem)
    return Notice(where, f"may hold a CNPG object but cannot be read ({problem}): it passes through unchanged, "
                         "and no overlay entry reaches a Cluster in it; fix it if it is one")


def _problem(exc: yamlcodec.YamlError) -> str:
    return f"line {exc.line}: {exc.problem}" if exc.line else exc.problem


def kind_and_name(chunk: stream.Chunk) -> tuple[str | None, str | None]:
    """kind and name read from the text of a document that does not parse."""
    kind = re.search(rb"^kind:[ \t]*['\"]?([A-Za-z]+)", chunk.data, re.M)
    name = re.search(rb"^  name:[ \t]*['\"]?([-.a-z0-9]+)", chunk.data, re.M)
    return (kind.group(1).decode() if kind else None, name.group(1).decode() if name else None)


def _join(chunks: stream.Documents, result: Result) -> stream.Output:
    """The output: the runs of untouched documents as slices of the input, the changed
    documents rewritten, with the objects we add beside them."""
    out = stream.Output(stream.lead(chunks.buf))
    view, done = memoryview(chunks.buf), chunks.start
    for index in sorted(result.edits):
        chunk, edit = chunks[index], result.edits[index]
        if chunk.start > done:
            out.append(view[done:chunk.start])
        done = chunk.end
        if edit.drop:
            continue
        newline = chunk.newline.encode()
        for obj in edit.before:
            out.append(chunk.companion(obj), newline)
        out.append(chunk.rewrite(edit.obj, needs_separator=bool(out.pieces)), newline)
        for obj in edit.after:
            out.append(chunk.companion(obj), newline)
    if chunks.end > done:
        out.append(view[done:chunks.end])
    return out


def cnpg_documents(buf: bytes | bytearray):
    """(index, object) for every CNPG object of a stream, List items included; only
    documents whose text can spell a CNPG group are read."""
    from renderer import validate

    for chunk in stream.candidates(stream.split(buf)):
        for item in yamlcodec.iter_objects([_load(chunk)]):
            if validate.is_cnpg_object(item):
                yield chunk.index, item
