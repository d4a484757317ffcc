"""Which archived WAL a restore from a base backup reads, and how far it gets.

Pure arithmetic over what `renderer.objectstore` read from one lineage: no I/O, no
clock. The rules that judge a restore (renderer.facts) ask two questions of it: is
every segment the backup needs there (`Coverage.complete`), and how far does replay
get after it (`Coverage.last_segment`, `end_lsn`, `timeline`)?

PostgreSQL behaviour followed (PostgreSQL 15 sources, unchanged since in what is used):
- ``src/include/access/xlog_internal.h``: a segment is named ``%08X%08X%08X`` of
  timeline, ``segno / XLogSegmentsPerXLogId`` and ``segno % XLogSegmentsPerXLogId``,
  where ``XLogSegmentsPerXLogId = 0x100000000 / wal_segment_size``; a segment size is
  a power of two from 1 MB to 1 GB (``IsValidWalSegSize``); ``XLByteToSeg`` is
  ``lsn / wal_segment_size``.
- ``src/backend/access/transam/timeline.c``: ``<TLI>.history`` lines are
  ``parentTLI<TAB>switchpoint<TAB>reason`` (blank and ``#`` lines skipped), parent TLIs
  strictly increasing and below the file's own TLI (``readTimeLineHistory``);
  ``findNewestTimeLine`` probes ``<TLI+1>.history``, ``<TLI+2>.history``… and stops at
  the first missing one; ``tliOfPointInHistory`` names the timeline of an LSN.
- ``src/backend/access/transam/xlogrecovery.c``: with ``recovery_target_timeline =
  'latest'`` (CNPG's default) the search starts at the backup's timeline; the backup's
  checkpoint must lie on its own timeline in the target's history, or recovery stops
  with "requested timeline N is not a child of this server's history";
  ``XLogFileReadAnyTLI`` asks the archive for a segment on the newest timeline of that
  history whose start is at or before the segment, then on older ones, never on one
  older than the timeline of the file read before.
"""

from __future__ import annotations

import re
from collections.abc import Container
from datetime import datetime
from typing import TYPE_CHECKING

from renderer.records import record

if TYPE_CHECKING:  # objectstore imports this module; the types are only named here
    from renderer.objectstore import BaseBackup, LineageState, WalSegment

_SEGMENT_RE = re.compile(r"^[0-9A-F]{24}$")  # IsXLogFileName: upper-case hex only
_LSN_RE = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")
# sscanf("%u\t%X/%X"): a tab in a scanf format matches any run of white space, even none.
_HISTORY_LINE_RE = re.compile(r"^\s*(\d+)\s*([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})(.*)$")
MIN_SEGMENT_SIZE = 1 << 20
MAX_SEGMENT_SIZE = 1 << 30


# --------------------------------------------------------------------------- names and LSNs


def check_segment_size(size: int) -> int:
    """``size`` when PostgreSQL accepts it as wal_segment_size, else ValueError."""
    if size < MIN_SEGMENT_SIZE or size > MAX_SEGMENT_SIZE or size & (size - 1):
        raise ValueError(f"{size} is not a WAL segment size (a power of two from 1 MB to 1 GB)")
    return size


def segments_per_log(size: int) -> int:
    """``XLogSegmentsPerXLogId``: how many segments one 4 GB "log" (the middle 8 hex) holds."""
    return 0x100000000 // check_segment_size(size)


def is_segment_name(name: str) -> bool:
    """A full segment name as PostgreSQL writes and requests it (no suffix, upper case)."""
    return bool(_SEGMENT_RE.match(name))


def parse_segment_name(name: str, size: int) -> tuple[int, int]:
    """``"000000020000000100000003"`` -> (timeline 2, segment number); ValueError for a
    name PostgreSQL would not write with this segment size (seg part past the log's end)."""
    if not is_segment_name(name):
        raise ValueError(f"{name!r} is not a WAL segment name")
    per_log = segments_per_log(size)
    tli, log, seg = int(name[:8], 16), int(name[8:16], 16), int(name[16:], 16)
    if seg >= per_log:
        raise ValueError(f"{name!r} is not a segment name for {size}-byte segments")
    return tli, log * per_log + seg


def segment_name(tli: int, segno: int, size: int) -> str:
    """``XLogFileName``: the name of segment ``segno`` on timeline ``tli``."""
    per_log = segments_per_log(size)
    return f"{tli:08X}{segno // per_log:08X}{segno % per_log:08X}"


def segment_of(lsn: int, size: int) -> int:
    """``XLByteToSeg``: the segment number holding ``lsn``."""
    return lsn // check_segment_size(size)


def parse_lsn(text: str) -> int:
    """``"16/B374D848"`` -> integer, as ``pg_lsn`` reads it; ValueError otherwise."""
    m = _LSN_RE.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not an LSN (X/Y, hexadecimal)")
    return int(m.group(1), 16) << 32 | int(m.group(2), 16)


def format_lsn(lsn: int) -> str:
    """The ``%X/%X`` text PostgreSQL 15 and barman print."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


# --------------------------------------------------------------------------- timelines


@record(frozen=True)
class HistoryEntry:
    """One line of a ``<TLI>.history`` file: the timeline left, and where."""

    parent_tli: int
    switchpoint: int
    reason: str


@record(frozen=True)
class TimelineSpan:
    """One member of a target timeline's history (PostgreSQL's TimeLineHistoryEntry):
    ``tli`` holds WAL from ``begin`` (None: from the start) to ``end`` (None: open)."""

    tli: int
    begin: int | None
    end: int | None


def parse_history(text: str, tli: int) -> tuple[HistoryEntry, ...]:
    """The entries of ``<tli>.history``, oldest first; ValueError where PostgreSQL's
    ``readTimeLineHistory`` stops recovery (syntax, order, or a parent not below ``tli``)."""
    entries: list[HistoryEntry] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _HISTORY_LINE_RE.match(line)
        if not m:
            raise ValueError(f"syntax error in history file line {line.strip()!r}")
        parent = int(m.group(1))
        if entries and parent <= entries[-1].parent_tli:
            raise ValueError("timeline IDs in the history file are not in increasing sequence")
        entries.append(HistoryEntry(parent, int(m.group(2), 16) << 32 | int(m.group(3), 16), m.group(4).strip()))
    if entries and entries[-1].parent_tli >= tli:
        raise ValueError(f"a parent timeline in the history file is not below timeline {tli}")
    return tuple(entries)


def newest_timeline(start: int, histories: Container[int]) -> int:
    """``findNewestTimeLine``: from ``start``, probe for the history file of the next
    timeline until one is missing; ``histories`` holds the TLIs whose file exists."""
    newest = start
    while newest + 1 in histories:
        newest += 1
    return newest


def expected_timelines(target: int, entries: tuple[HistoryEntry, ...]) -> tuple[TimelineSpan, ...]:
    """``readTimeLineHistory``: the target and its ancestors, newest first, each with the
    LSN range it holds. No entries (timeline 1, or no history file) means the target alone."""
    spans, begin = [], None
    for entry in entries:
        spans.append(TimelineSpan(entry.parent_tli, begin, entry.switchpoint))
        begin = entry.switchpoint
    spans.append(TimelineSpan(target, begin, None))
    return tuple(reversed(spans))


def timeline_at(lsn: int, spans: tuple[TimelineSpan, ...]) -> int | None:
    """``tliOfPointInHistory``: the timeline holding ``lsn`` in this history."""
    for span in spans:
        if (span.begin is None or span.begin <= lsn) and (span.end is None or lsn < span.end):
            return span.tli
    return None


def candidates(segno: int, spans: tuple[TimelineSpan, ...], current_tli: int, size: int) -> list[int]:
    """The timelines ``XLogFileReadAnyTLI`` asks the archive for segment ``segno``, in
    order: newest first, skipping one that starts after the segment, and stopping at one
    older than the timeline of the previous file (``current_tli``)."""
    out = []
    for span in spans:
        if span.tli < current_tli:
            break
        if span.begin is None or segno >= segment_of(span.begin, size):
            out.append(span.tli)
    return out


# --------------------------------------------------------------------------- a backup's chain


@record(frozen=True)
class Coverage:
    """What a restore of one base backup with ``recovery_target_timeline = 'latest'``
    reads from its lineage.

    ``complete``: every segment from the backup's begin_wal to its end_wal is found, so
    the restore reaches a consistent state (else ``first_missing`` names the first one
    absent, on the timeline PostgreSQL asks first; None when a .partial segment ended
    the chain before end_wal). ``last_segment`` is the newest segment read contiguously
    from begin_wal, on ``timeline``; replay ends at the last valid record in it, so
    ``end_lsn`` (the end of that segment) bounds what is restored. A ``.partial``
    segment ends the chain: its WAL stops inside it. ``problem``: why the restore cannot
    start or cannot be judged at all (then the chain fields are None, ``complete`` False).

    Segments are judged by name, as restore_command fetches them; what PostgreSQL then
    finds inside (a parent timeline's segment read past its switch point, as
    ``XLogFileReadAnyTLI`` allows, or a corrupt record) is not modelled."""

    backup_id: str
    target_timeline: int | None
    complete: bool
    first_missing: str | None
    last_segment: WalSegment | None
    end_lsn: int | None
    timeline: int | None
    problem: str | None = None

    @property
    def restorable(self) -> bool:
        return self.complete and self.problem is None

    @property
    def archived_at(self) -> datetime | None:
        """When the newest segment the restore reads was archived."""
        return self.last_segment.archived_at if self.last_segment else None


def coverage(lineage: LineageState, backup: BaseBackup) -> Coverage:
    """Follow PostgreSQL's archive recovery from ``backup`` through ``lineage``'s WAL."""
    size = backup.segment_size or lineage.wal_segment_size
    why = _unjudgeable(backup, size)
    if why:
        return _stopped(backup, None, why)
    # _unjudgeable returns a reason whenever one of these is None
    assert backup.begin_wal is not None and backup.end_wal is not None and size is not None
    begin_tli, begin_seg = parse_segment_name(backup.begin_wal, size)
    own = backup.timeline or begin_tli
    target = newest_timeline(own, lineage.histories.keys() | lineage.history_issues.keys())
    if target in lineage.history_issues:
        return _stopped(backup, target, f"history file {target:08X}.history: {lineage.history_issues[target]}")
    spans = expected_timelines(target, lineage.histories.get(target, ()))
    # PostgreSQL checks the backup's checkpoint record; its REDO point (begin_lsn) lies just before it.
    start_lsn = backup.begin_lsn if backup.begin_lsn is not None else begin_seg * size
    if timeline_at(start_lsn, spans) != own:
        return _stopped(backup, target, _not_a_child(target, spans, own, start_lsn))
    return _walk(lineage, backup, target, spans, begin_seg, size)


def _unjudgeable(backup: BaseBackup, size: int | None) -> str | None:
    """Why no chain can be followed from this backup, or None."""
    if backup.begin_wal is None or backup.end_wal is None:
        field = "begin_wal" if backup.begin_wal is None else "end_wal"
        return f"backup.info records no {field} (status {backup.status})"
    if size is None:
        return "WAL segment size unknown (not in backup.info, and no WAL header was read)"
    try:
        parse_segment_name(backup.begin_wal, size)
        parse_segment_name(backup.end_wal, size)
    except ValueError as exc:
        return f"backup.info: {exc}"
    return None


def _stopped(backup: BaseBackup, target: int | None, problem: str) -> Coverage:
    return Coverage(backup.backup_id, target, False, None, None, None, None, problem)


def _not_a_child(target: int, spans: tuple[TimelineSpan, ...], own: int, lsn: int) -> str:
    fork = next((s.end for s in spans if s.tli == own), None)
    where = (f"forked off timeline {own} at {format_lsn(fork)}" if fork is not None
             else f"does not descend from timeline {own}")
    return (f"recovery_target_timeline 'latest' is timeline {target}, which {where}, before this backup "
            f"({format_lsn(lsn)}): PostgreSQL stops with \"requested timeline {target} is not a child of this "
            "server's history\"")


def _walk(lineage: LineageState, backup: BaseBackup, target: int, spans: tuple[TimelineSpan, ...],
          segno: int, size: int) -> Coverage:
    """Read segment after segment as ``XLogFileReadAnyTLI`` would, until one is missing
    or a .partial one was read."""
    present = {s.name: s for s in lineage.wal}
    last, tli, asked = None, 0, []
    while last is None or not last.partial:
        asked = [segment_name(t, segno, size) for t in candidates(segno, spans, tli, size)]
        found = next((present[name] for name in asked if name in present), None)
        if found is None:
            break
        last, tli, segno, asked = found, int(found.name[:8], 16), segno + 1, []
    assert backup.end_wal is not None  # coverage() walks only backups _unjudgeable accepted
    complete = segno > parse_segment_name(backup.end_wal, size)[1]
    missing = asked[0] if asked and not complete else None
    return Coverage(backup.backup_id, target, complete, missing, last, segno * size if last else None, tli or None)


# --------------------------------------------------------------------------- WAL without a backup


@record(frozen=True)
class WalSpan:
    """The oldest and the newest segment of a lineage (by name: timeline, then position)."""

    first: WalSegment
    newest: WalSegment


def wal_span(lineage: LineageState) -> WalSpan | None:
    """First and newest segment with their archive times; None when it holds none.
    For a lineage without a base backup this is all a restore rule can know of it."""
    return WalSpan(lineage.wal[0], lineage.wal[-1]) if lineage.wal else None

