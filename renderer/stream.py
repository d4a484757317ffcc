"""Splitting a manifest stream into documents without parsing it, and joining it back.

Helm and ArgoCD hand us megabytes of YAML of which we touch a few documents. So the
stream is cut at `---` / `...` lines with one C-level regex scan, documents are kept as
offsets into the input buffer, only documents whose text could hold a target are
read (see `candidates`), and every other document is written back as the very bytes
it came in as. A byte order mark belongs to the stream, not to its first document:
it stays in front of everything, whatever we add before that document."""

from __future__ import annotations

import re
from functools import cached_property
from itertools import pairwise

from renderer import yamlcodec
from renderer.cnpg.meta import LINEAGE_PREFIX
from renderer.records import field, record

BOM = b"\xef\xbb\xbf"
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


# After a document's head: a line with YAML content (not blank, a comment or `...`).
_CONTENT = re.compile(rb"(?:^|(?<=\xef\xbb\xbf))(?!\.\.\.(?:[ \t]|\r?$))[ \t]*[^\s#]", re.M)


def has_content(chunks: list[Chunk]) -> bool:
    """Does any document hold anything but blank lines, comments and markers? (A real
    stream answers on its first document; only an empty-ish one is read to the end.)
    Read in place: a chunk's bytes are copied only for documents we read."""
    return any(_CONTENT.search(c.buf, c.start + len(c.head), c.end) for c in chunks)


def split(buf: bytes | bytearray) -> list[Chunk]:
    """Cut the stream at document markers; `lead(buf)` and the chunks concatenate back to `buf`."""
    bom = len(lead(buf))
    cuts = {bom, len(buf)}
    first = _FIRST_MARKER.match(buf, bom)
    markers = [(first.start(), first.group(1), first.end())] if first else []
    markers += [(m.start() + 1, m.group(1), m.end()) for m in _MARKER.finditer(buf, bom)]
    for start, marker, end in markers:
        if marker == b"---":
            cuts.add(start)
        else:
            eol = buf.find(b"\n", end)
            cuts.add(len(buf) if eol < 0 else eol + 1)
    ordered = sorted(cuts)
    chunks: list[Chunk] = []
    for start, end in pairwise(ordered):
        chunks.append(Chunk(buf, start, end, len(chunks)))
    return chunks or ([Chunk(buf, bom, bom, 0)] if bom else [])  # a lone BOM: one empty document keeps it


def lead(buf: bytes | bytearray) -> bytes:
    """The byte order mark in front of the stream, if any."""
    return BOM if buf.startswith(BOM) else b""


def wide_encoding(buf: bytes | bytearray) -> bool:
    """Is the stream UTF-16 or UTF-32 (a BOM or NUL bytes in front)? Its documents would
    hide their text from every scan here; YAML says only the stream's start tells."""
    return buf.startswith(_WIDE_BOMS) or b"\0" in buf[:4]


def candidates(chunks: list[Chunk]) -> list[Chunk]:
    """The chunks whose text can spell a target (see OURS above): one scan per pattern
    over the whole buffer, a step to the next chunk after each hit."""
    if not chunks:
        return []
    buf, found = chunks[0].buf, set()
    for pattern in (_CNPG_OR_OURS, _ESCAPE):
        index, pos = 0, chunks[0].start
        while (m := pattern.search(buf, pos)) is not None:
            while chunks[index].end <= m.start():
                index += 1
            found.add(index)
            pos = chunks[index].end
    return [chunks[i] for i in sorted(found)]


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
