"""The one error type: every failure says *where* (overlay file:line and key path,
or document index and kind/name) and *what*, so the CLI can print one line."""

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


def document_where(index: int, kind: str | None = None, name: str | None = None) -> str:
    """Name a stream document the way users find it: its 0-based index and kind/name."""
    if kind or name:
        return f"document {index} ({kind or '?'}/{name or '?'})"
    return f"document {index}"


class RenderError(Exception):
    """A user-facing failure. `where` locates it, `what` explains it; neither ever
    holds a secret value."""

    def __init__(self, where: str | Origin, what: str):
        super().__init__(f"{where}: {what}")
        self.where = str(where)
        self.what = what


@record(frozen=True)
class Notice:
    """A non-fatal finding, printed on stderr (and returned as a KRM result)."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"
