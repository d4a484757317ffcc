"""Bytes in, bytes out: the stream layer around the pure transform.

Still free of I/O: the CLI, the Helm/ArgoCD/kustomize adapters and the tests all call
`render` with the input bytes and get the output pieces back."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from renderer import stream, yamlcodec
from renderer.errors import Notice, RenderError, document_where
from renderer.overlay.model import Overlay
from renderer.records import record
from renderer.transform import Context, Planned, Result, apply, plan_stream

if TYPE_CHECKING:
    from renderer.facts import Facts

# Second, finer test for documents that passed the cheap one: a top-level `kind` of
# Cluster, ScheduledBackup (a migration may switch it to the plugin) or List (YAML at
# column 0, or JSON), or an object we generated earlier. It keeps large CNPG CRDs
# (whose `names.kind: Cluster` is indented) from being parsed.
_TOP_KIND = re.compile(rb"""^(?:kind|[ \t]*"kind")[ \t]*:[ \t]*["']?(?:Cluster|ScheduledBackup|List)\b"""
                       rb"""|^\{.*\bkind\b""", re.M)


@record
class Prepared:
    """A stream split and planned: everything decided that needs no facts."""

    chunks: list[stream.Chunk]
    docs: list[tuple[int, object]]  # the parsed candidate documents
    planned: Planned


@record
class Rendered:
    """What a render produced: the output pieces, the notices, the core's result and the input's documents (for diff)."""

    output: stream.Output
    notices: list[Notice]
    result: Result
    chunks: list[stream.Chunk]


def prepare(buf: bytes, overlay: Overlay, context: Context) -> Prepared:
    """Split, parse the documents that can be targets, and plan every Cluster's lineage."""
    chunks = stream.split(buf)
    if not stream.has_content(chunks):
        # Nothing to render (Helm 3 with --output-dir sends an empty stdin): the stream
        # goes through as it came, whatever the overlay expects to find.
        return Prepared(chunks, [], Planned([], []))
    docs = [(c.index, _load(c)) for c in chunks if c.is_candidate() and _may_be_target(c)]
    return Prepared(chunks, docs, plan_stream(docs, overlay, context))


def finish(prepared: Prepared, facts: Facts | None = None, collect: bool = False) -> Rendered:
    """Resolve, judge and write the prepared plans; join the output."""
    result = apply(prepared.docs, prepared.planned, facts, collect)
    return Rendered(_join(prepared.chunks, result), result.notices, result, prepared.chunks)


def render(buf: bytes, overlay: Overlay, context: Context) -> Rendered:
    """A render without facts (the plain path Helm and ArgoCD run)."""
    return finish(prepare(buf, overlay, context))


def _may_be_target(chunk: stream.Chunk) -> bool:
    """A document indented as a whole is legal YAML too; too rare to be clever about."""
    return bool(_TOP_KIND.search(chunk.data)) or stream.OURS in chunk.data or chunk.is_indented()


def _load(chunk: stream.Chunk):
    try:
        return chunk.load()
    except UnicodeDecodeError:
        raise RenderError(document_where(chunk.index), "is not UTF-8 text") from None
    except yamlcodec.YamlError as exc:
        problem = f"line {exc.line}: {exc.problem}" if exc.line else exc.problem
        raise RenderError(document_where(chunk.index, *kind_and_name(chunk)), problem) from None


def kind_and_name(chunk: stream.Chunk) -> tuple[str | None, str | None]:
    """kind and name read from the text of a document that does not parse."""
    kind = re.search(rb"^kind:[ \t]*['\"]?([A-Za-z]+)", chunk.data, re.M)
    name = re.search(rb"^  name:[ \t]*['\"]?([-.a-z0-9]+)", chunk.data, re.M)
    return (kind.group(1).decode() if kind else None, name.group(1).decode() if name else None)


def _join(chunks: list[stream.Chunk], result: Result) -> stream.Output:
    out = stream.Output(stream.lead(chunks[0].buf) if chunks else b"")
    for chunk in chunks:
        edit = result.edits.get(chunk.index)
        if edit is None:
            out.append(chunk.raw)
            continue
        if edit.drop:
            continue
        newline = chunk.newline.encode()
        for obj in edit.before:
            out.append(chunk.companion(obj), newline)
        out.append(chunk.rewrite(edit.obj, needs_separator=bool(out.pieces)), newline)
        for obj in edit.after:
            out.append(chunk.companion(obj), newline)
    return out


def cnpg_documents(buf: bytes):
    """(index, object) for every CNPG object of a stream, List items included; other
    documents are not parsed."""
    from renderer import validate

    for chunk in stream.split(buf):
        if stream.CNPG_TEXT not in chunk.data:
            continue
        obj = _load(chunk)
        items = obj.get("items") if isinstance(obj, dict) and obj.get("kind") == "List" else [obj]
        for item in items if isinstance(items, list) else []:
            if validate.is_cnpg_object(item):
                yield chunk.index, item
