"""Splitting a manifest stream into documents without parsing it, and joining it back.

Helm and ArgoCD hand us megabytes of YAML of which we touch a few documents. So the
stream is cut at `---` / `...` lines with one C-level regex scan, documents are kept as
offsets into the input buffer (`Documents`: a list of integers, whatever their number),
only documents whose text could hold a target are read (see `candidates`), and every
other document is written back as the very bytes it came in as, the runs between
changed documents as single slices. A byte order mark belongs to the stream, not to its
first document: it stays in front of everything, whatever we add before that document."""

from __future__ import annotations

import re
from functools import cached_property

from renderer import yamlcodec
from renderer.cnpg.meta import LINEAGE_PREFIX
from renderer.errors import RenderError
from renderer.records import field, record

TYPE_CHECKING = False  # see renderer.records
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

BOM = b"\xef\xbb\xbf"
# Kubernetes streams hold hundreds of documents, a very large one tens of thousands. A
# cap keeps a stream of empty documents (`---` lines, four bytes each) from costing a
# Python integer per four bytes of input.
MAX_DOCUMENTS = 1_000_000
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff")  # UTF-16 (and UTF-32 LE, which starts the same)
# A marker at the start of a line. Searching for the newline before it (instead of
# `^` with re.M) lets the regex engine skip ahead with a fast literal scan.
_MARKER = re.compile(rb"\n(---|\.\.\.)(?=[ \t\r\n]|\Z)")
_FIRST_MARKER = re.compile(rb"(---|\.\.\.)(?=[ \t\r\n]|\Z)")
# Lines kept when a document is rewritten: directives, blank and comment lines, and a
# `---` line that carries nothing but an optional comment.
_HEAD_LINE = re.compile(rb"(?:%[^\n]*|---[ \t]*(?:#[^\n]*)?\r?|[ \t]*(?:#[^\n]*)?\r?)\n")
_SOURCE = re.compile(rb"^# Source: [^\r\n]*", re.M)
_END_MARKER = re.compile(rb"(?:^|\n)\.\.\.[ \t]*(?:#[^\n]*)?\r?\n?$")
# A document can only be a target (a CNPG Cluster or ScheduledBackup, a List holding
# one, or an object we generated on an earlier pass) if what it says holds
# `postgresql.cnpg.io/` or `cnpg-render.io/`. YAML can spell that text only literally,
# or inside a double-quoted scalar with escapes (`\x2e`, `\u0063`, `\/`) or an escaped
# line break (YAML 1.1 also breaks lines at NEL, LS and PS) joining two lines: folding
# always puts a space or a line break between the parts, and aliases, tags and comments
# add no text. So these two scans find every
# document that can be a target (a strict superset; tests/test_detection.py generates
# the spellings).
OURS = LINEAGE_PREFIX.encode()
_CNPG_OR_OURS = re.compile(rb"cnpg(?:-render)?\.io/")
_ESCAPE = re.compile(rb"\\[xuU/\r\n\xc2\xe2]")  # \xc2, \xe2: how NEL, LS and PS start


@record(eq=False)
class Chunk:
    """One document of the input: a slice of the buffer, and what we learn about it
    only when it turns out to be a document we rewrite."""

    buf: bytes | bytearray  # read_inputs gives a bytearray for a pipe: read in place
    start: int
    end: int
    index: int

    @property
    def raw(self) -> memoryview:
        return memoryview(self.buf)[self.start:self.end]

    @cached_property
    def data(self) -> bytes:
        return bytes(self.raw)

    @cached_property
    def head(self) -> bytes:
        """Directives, the bare `---` line and the comments before the content."""
        buf, pos = self.buf, self.start
        while (m := _HEAD_LINE.match(buf, pos, self.end)) and m.end() > pos:
            pos = m.end()
        return bytes(buf[self.start:pos])  # a few lines; bytes whether buf is bytes or a bytearray

    @cached_property
    def body(self) -> str:
        """The document's YAML text, as the parser should see it."""
        return self.data.decode("utf-8")

    @cached_property
    def newline(self) -> str:
        return "\r\n" if self.buf.find(b"\r\n", self.start, self.end) >= 0 else "\n"

    @cached_property
    def source_line(self) -> bytes | None:
        """Helm 3's `# Source: chart/templates/x.yaml` line: objects we add beside this
        document reuse it, so `helm template -s templates/x.yaml` still shows them."""
        m = _SOURCE.search(self.head)
        return m.group(0) if m else None

    @cached_property
    def ends_with_end_marker(self) -> bool:
        return bool(_END_MARKER.search(self.buf, self.start, self.end))

    def has_separator(self) -> bool:
        return b"---" in self.head

    def is_json(self) -> bool:
        return self.data[len(self.head):].lstrip().startswith(b"{")

    def load(self):
        """This document's object, read by the one codec (YamlError when it cannot be)."""
        return yamlcodec.load(self.body)

    def rewrite(self, obj, *, needs_separator: bool) -> bytes:
        """This document with new content: its head comments, separator, JSON-ness,
        line endings and end marker are kept."""
        head = self.head
        if needs_separator and not self.has_separator():
            head = b"---" + self.newline.encode() + head
        text = yamlcodec.dump(obj, as_json=self.is_json(), newline=self.newline)
        return head + text.encode("utf-8") + self._end_marker()

    def companion(self, obj) -> bytes:
        """A document we add beside this one, dressed like it (separator, `# Source:`
        line, line endings, end marker)."""
        nl = self.newline.encode()
        head = b"---" + nl + (self.source_line + nl if self.source_line else b"")
        text = yamlcodec.dump(obj, newline=self.newline)
        return head + text.encode("utf-8") + self._end_marker()

    def _end_marker(self) -> bytes:
        return b"..." + self.newline.encode() if self.ends_with_end_marker else b""


# A line with YAML content: not blank, a comment, a directive, or a bare `---` / `...`
# marker line (a comment may follow either).
_CONTENT = re.compile(rb"(?:^|(?<=\xef\xbb\xbf))(?!%|\.\.\.(?:[ \t]|\r?$)|---(?:[ \t]+#[^\n]*|[ \t]*)\r?$)"
                      rb"[ \t]*[^\s#]", re.M)


def has_content(documents: Documents) -> bool:
    """Does any document hold anything but blank lines, comments, directives and
    markers? One scan of the buffer, which a real stream ends on its first line."""
    return bool(_CONTENT.search(documents.buf, documents.start, documents.end))


class Documents:
    """The documents of a stream, as offsets into its buffer: document `i` is
    `buf[cuts[i]:cuts[i + 1]]`. A `Chunk` is made only for a document asked for by
    index (and kept, with what was learnt about it); iterating makes each in turn."""

    def __init__(self, buf: bytes | bytearray, cuts: list[int]):
        self.buf, self.cuts = buf, cuts
        self._made: dict[int, Chunk] = {}

    def __len__(self) -> int:
        return len(self.cuts) - 1

    def __getitem__(self, index: int) -> Chunk:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        chunk = self._made.get(index)
        if chunk is None:
            chunk = self._made[index] = self._chunk(index)
        return chunk

    def __iter__(self) -> Iterator[Chunk]:
        for index in range(len(self)):
            yield self._made.get(index) or self._chunk(index)

    def _chunk(self, index: int) -> Chunk:
        return Chunk(self.buf, self.cuts[index], self.cuts[index + 1], index)

    @property
    def start(self) -> int:
        """Where the documents start: after the stream's byte order mark."""
        return self.cuts[0]

    @property
    def end(self) -> int:
        return self.cuts[-1]


def split(buf: bytes | bytearray) -> Documents:
    """Cut the stream at document markers; `lead(buf)` and the documents concatenate
    back to `buf`. Cuts come in order: a `...` line cuts after itself, which is never
    past the next marker's line."""
    bom = len(lead(buf))
    cuts = [bom]
    first = _FIRST_MARKER.match(buf, bom)
    if first:
        _cut(cuts, buf, first.start(), first.group(1), first.end())
    for m in _MARKER.finditer(buf, bom):
        _cut(cuts, buf, m.start() + 1, m.group(1), m.end())
    if cuts[-1] < len(buf) or (len(cuts) == 1 and bom):  # a lone BOM: one empty document keeps it
        cuts.append(len(buf))
    return Documents(buf, cuts)


def _cut(cuts: list[int], buf: bytes | bytearray, start: int, marker: bytes, end: int) -> None:
    if marker == b"...":
        eol = buf.find(b"\n", end)
        start = len(buf) if eol < 0 else eol + 1
    if start > cuts[-1]:
        if len(cuts) >= MAX_DOCUMENTS and start < len(buf):  # every cut so far starts a document, this one too
            raise RenderError("input", f"holds more than {MAX_DOCUMENTS:,} documents: that is not a Kubernetes "
                                       "stream cnpg-render can take (split it)")
        cuts.append(start)


def lead(buf: bytes | bytearray) -> bytes:
    """The byte order mark in front of the stream, if any."""
    return BOM if buf.startswith(BOM) else b""


def wide_encoding(buf: bytes | bytearray) -> bool:
    """Is the stream UTF-16 or UTF-32 (a BOM or NUL bytes in front)? Its documents would
    hide their text from every scan here; YAML says only the stream's start tells."""
    return buf.startswith(_WIDE_BOMS) or b"\0" in buf[:4]


def candidates(documents: Documents) -> list[Chunk]:
    """The documents whose text can spell a target (see OURS above): one scan per
    pattern over the whole buffer, a step to the next document after each hit."""
    found: set[int] = set()
    for pattern in (_CNPG_OR_OURS, _ESCAPE):
        found.update(_hits(documents, _searcher(pattern, documents.buf)))
    return [documents[i] for i in sorted(found)]


def _searcher(pattern: re.Pattern[bytes], buf: bytes | bytearray) -> Callable[[int, int], int | None]:
    def find(pos: int, end: int) -> int | None:
        m = pattern.search(buf, pos, end)
        return None if m is None else m.start()

    return find


def holding(documents: Documents, text: bytes) -> Iterator[Chunk]:
    """The documents whose bytes hold `text`."""
    return (documents[i] for i in _hits(documents, lambda pos, end: documents.buf.find(text, pos, end)))


def _hits(documents: Documents, find: Callable[[int, int], int | None]) -> Iterator[int]:
    """The index of each document in which `find(pos, end)` finds something (its
    position; -1 or None when nothing): one pass over the buffer, stepping to the next
    document after each hit."""
    cuts, index, pos = documents.cuts, 0, documents.start
    while (at := find(pos, documents.end)) is not None and at >= 0:
        while cuts[index + 1] <= at:
            index += 1
        yield index
        pos = cuts[index + 1]


@record
class Output:
    """The output, assembled as pieces (mostly views of the input) and written in one
    go once everything succeeded: half a stream is worse than none for Helm. `lead`
    (the stream's byte order mark) goes in front of every piece."""

    lead: bytes = b""
    pieces: list[bytes | memoryview] = field(default_factory=list)

    def append(self, data: bytes | memoryview, newline: bytes = b"\n") -> None:
        if self.pieces and bytes(self.pieces[-1][-1:]) not in (b"\n", b""):
            self.pieces.append(newline)
        self.pieces.append(data)

    def __iter__(self):
        """Every piece to write, the lead first."""
        if self.lead:
            yield self.lead
        yield from self.pieces

    def write(self, out) -> None:
        for piece in self:
            out.write(piece)

    def getvalue(self) -> bytes:
        return self.lead + b"".join(bytes(p) for p in self.pieces)
