"""The one error type: every failure says *where* (overlay file:line and key path,
or document number and kind/name) and *what*, so the CLI can print one line.

A failure about a stream document also carries that document as data (`Document`):
KRM results and the kustomize exec plugin name the resource from it, never by
reading the message text back."""

from __future__ import annotations

from renderer.records import record


@record(frozen=True)
class Origin:
    """Where an overlay value was written: file, line (1-based) and key path."""

    file: str
    line: int
    path: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}" if self.line else f"{self.file}: {self.path}"


class Document(str):
    """A stream document as users read it — `document 3 (Cluster/pg) items[0]`,
    counted from 1 like lines — that keeps its position as data.

    `index` is the 0-based position in the stream (what KRM items and the core use);
    `kind`, `name` and the List `item` are what a message can name it by. It is a
    `str`, so it goes wherever a location string goes (messages, notices)."""

    # shadows str.index on purpose: a Document is a location to show, never text to search
    index: int  # type: ignore[assignment]
    kind: str | None
    name: str | None
    item: int | None

    def __new__(cls, index: int, kind: str | None = None, name: str | None = None,
                item: int | None = None) -> Document:
        what = f" ({kind or '?'}/{name or '?'})" if kind or name else ""
        text = f"document {index + 1}{what}" + (f" items[{item}]" if item is not None else "")
        self = super().__new__(cls, text)
        self.index, self.kind, self.name, self.item = index, kind, name, item
        return self

    def resource(self) -> str:
        """`Cluster/pg items[0]`: the document named without its position, for streams
        whose order the user never saw (kustomize re-sorts before calling us)."""
        named = f"{self.kind or '?'}/{self.name or '?'}" if self.kind or self.name else str(self)
        return named + (f" items[{self.item}]" if self.item is not None else "")


def document_where(index: int, kind: str | None = None, name: str | None = None,
                   item: int | None = None) -> Document:
    """Name a stream document the way users find it (see `Document`)."""
    return Document(index, kind, name, item)


class RenderError(Exception):
    """A user-facing failure. `where` locates it, `what` explains it and says what to
    write instead; neither ever holds a secret value. `document` is the stream
    document the failure is about, when there is one (see `about`)."""

    def __init__(self, where: str | Origin, what: str, document: Document | None = None):
        super().__init__(f"{where}: {what}")
        self.where = str(where)
        self.what = what
        self.document = document if document is not None else (where if isinstance(where, Document) else None)


class about:  # lower case: used as `with about(document):`, like a contextmanager
    """Failures raised inside are about `where`, when it is a stream `Document` (as for
    RenderError): one located at an overlay line (a lineage collision, a failing patch)
    still names the Cluster it concerns. A class, not @contextmanager: contextlib is not
    worth importing on the render path for it."""

    def __init__(self, where: str):
        self.document = where if isinstance(where, Document) else None

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> None:  # the failure goes on up
        if isinstance(error, RenderError) and error.document is None:
            error.document = self.document


def yaml_problem(exc: Exception) -> str:
    """A YAML error (PyYAML's or ruamel's) as ` at line N: <problem>`, to follow
    "invalid YAML", never quoting the document: a constructor error quotes the value it
    could not build (`failed to construct timestamp from "hunter2"`), and the full
    error text shows the offending line."""
    mark = getattr(exc, "problem_mark", None)
    at = f" at line {mark.line + 1}: " if mark is not None else ": "
    if "Constructor" in type(exc).__name__:
        return at + "a value cannot be built as its tag says (value not shown; check explicit tags such as !!int)"
    return at + str(getattr(exc, "problem", None) or "cannot be parsed")


@record(frozen=True)
class Notice:
    """A non-fatal finding, printed on stderr (and returned as a KRM result)."""

    where: str
    what: str

    @property
    def document(self) -> Document | None:
        return self.where if isinstance(self.where, Document) else None

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"
