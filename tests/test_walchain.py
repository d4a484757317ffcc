"""WAL-chain arithmetic (renderer.walchain): table tests of every rule, the name and LSN
arithmetic checked against PostgreSQL's own functions, and coverage checked against
what real restores (PostgreSQL 15 + barman-cloud) do with real lineages:
tests/test_walchain_real.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from renderer.objectstore import DONE, BaseBackup, LineageState, WalSegment
from renderer.walchain import (
    HistoryEntry,
    TimelineSpan,
    candidates,
    coverage,
    expected_timelines,
    format_lsn,
    newest_timeline,
    parse_history,
    parse_lsn,
    parse_segment_name,
    segment_name,
    segment_of,
    segments_per_log,
    timeline_at,
    wal_span,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "objectstore"
MB = 1 << 20
SIZE = 16 * MB
T0 = datetime(2026, 1, 1, tzinfo=UTC)


# --------------------------------------------------------------------------- names and LSNs


@pytest.mark.parametrize("size,per_log", [(MB, 4096), (16 * MB, 256), (64 * MB, 64), (1024 * MB, 4)])
def test_segments_per_log(size, per_log):
    assert segments_per_log(size) == per_log


@pytest.mark.parametrize("size", [0, MB // 2, 3 * MB, 2048 * MB])
def test_segment_size_must_be_a_power_of_two_from_1mb_to_1gb(size):
    with pytest.raises(ValueError, match="not a WAL segment size"):
        segments_per_log(size)


@pytest.mark.parametrize("name,size,expected", [
    ("000000010000000000000001", SIZE, (1, 1)),
    ("0000000100000001000000FF", SIZE, (1, 256 + 255)),
    ("000000020000000100000000", SIZE, (2, 256)),
    ("00000003000000000000000A", MB, (3, 10)),
    ("000000010000000100000FFF", MB, (1, 4096 + 4095)),
    ("0000000A0000002A00000003", 1024 * MB, (10, 42 * 4 + 3)),
])
def test_parse_segment_name(name, size, expected):
    assert parse_segment_name(name, size) == expected
    assert segment_name(*expected, size) == name


@pytest.mark.parametrize("name,size", [
    ("000000010000000000000100", SIZE),   # seg past the 256 a 16 MB log holds
    ("000000010000000000000004", 1024 * MB),
    ("00000001000000000000000a", SIZE),   # PostgreSQL names are upper case
    ("00000001000000000000000", SIZE),
    ("000000010000000000000001.gz", SIZE),
    ("00000002.history", SIZE),
])
def test_parse_segment_name_rejects(name, size):
    with pytest.raises(ValueError):
        parse_segment_name(name, size)


@given(tli=st.integers(1, 0xFFFFFFFF), segno=st.integers(0, 0xFFFFFFFF), shift=st.integers(20, 30))
def test_segment_name_round_trips(tli, segno, shift):
    assert parse_segment_name(segment_name(tli, segno, 1 << shift), 1 << shift) == (tli, segno)


@pytest.mark.parametrize("text,value", [
    ("0/0", 0), ("0/700028", 0x700028), ("16/B374D848", 0x16_B374D848), ("FFFFFFFF/FFFFFFFF", 2**64 - 1),
    ("a/b", 0xA_0000000B), (" 1/0 ", 1 << 32), ("0/0A000000", 0x0A000000),  # PostgreSQL 18 pads the low part
])
def test_parse_lsn(text, value):
    assert parse_lsn(text) == value


@pytest.mark.parametrize("text", ["", "0", "0/", "/0", "1/2/3", "G/0", "100000000/0", "0x1/0"])
def test_parse_lsn_rejects(text):
    with pytest.raises(ValueError, match="not an LSN"):
        parse_lsn(text)


@given(st.integers(0, 2**64 - 1))
def test_lsn_text_round_trips(lsn):
    assert parse_lsn(format_lsn(lsn)) == lsn


def test_segment_of():
    assert segment_of(0x16_B374D848, SIZE) == (0x16 << 32 | 0xB374D848) // SIZE
    assert segment_of(0x1000000 - 1, SIZE) == 0 and segment_of(0x1000000, SIZE) == 1


# --------------------------------------------------------------------------- history files


def test_parse_real_history():
    """fixtures/objectstore/timeline2/00000002.history was written by PostgreSQL 15 at a promotion."""
    assert parse_history((FIXTURES / "timeline2" / "00000002.history").read_text(), 2) == (
        HistoryEntry(1, 0x900000, "no recovery target specified"),
    )


def test_parse_history_as_postgres_reads_it():
    text = ("# comment\n\n  \n1\t0/3000060\tno recovery target specified\n"
            "2 0/5000000 before 2026-01-01 00:00:00+00\n"   # scanf: any white space separates
            "  4\t1/A0\n")                                  # the reason may be missing
    assert parse_history(text, 5) == (
        HistoryEntry(1, 0x3000060, "no recovery target specified"),
        HistoryEntry(2, 0x5000000, "before 2026-01-01 00:00:00+00"),
        HistoryEntry(4, 0x1_000000A0, ""),
    )
    assert parse_history("", 2) == ()


@pytest.mark.parametrize("text,tli,message", [
    ("x\t0/1\n", 2, "syntax error"),
    ("1\n", 2, "syntax error"),
    ("1\t0/1 reason\n", 2, None),
    ("2\t0/1\n1\t0/2\n", 3, "increasing"),
    ("1\t0/1\n1\t0/2\n", 3, "increasing"),
    ("2\t0/1\n", 2, "not below timeline 2"),
])
def test_parse_history_refuses_what_postgres_refuses(text, tli, message):
    if message is None:
        assert parse_history(text, tli) == (HistoryEntry(1, 1, "reason"),)
        return
    with pytest.raises(ValueError, match=message):
        parse_history(text, tli)


# --------------------------------------------------------------------------- timelines


@pytest.mark.parametrize("start,present,newest", [
    (1, set(), 1),
    (1, {2, 3}, 3),
    (1, {3, 4}, 1),       # 2.history missing: the probe stops there
    (2, {2, 3, 5}, 3),
    (3, {2}, 3),          # only later timelines are probed
])
def test_newest_timeline_probes_until_the_first_missing_file(start, present, newest):
    assert newest_timeline(start, present) == newest


def test_expected_timelines_and_timeline_at():
    entries = (HistoryEntry(1, 0x900000, ""), HistoryEntry(2, 0x2000000, ""))
    spans = expected_timelines(3, entries)
    assert spans == (TimelineSpan(3, 0x2000000, None), TimelineSpan(2, 0x900000, 0x2000000),
                     TimelineSpan(1, None, 0x900000))
    assert [timeline_at(lsn, spans) for lsn in (0, 0x8FFFFF, 0x900000, 0x1FFFFFF, 0x2000000, 2**40)] == \
        [1, 1, 2, 2, 3, 3]
    assert expected_timelines(1, ()) == (TimelineSpan(1, None, None),)
    assert timeline_at(5, (TimelineSpan(2, 0x10, None),)) is None


def test_candidates_follow_xlogfilereadanytli():
    spans = expected_timelines(3, (HistoryEntry(1, 9 * SIZE + 0x28, ""), HistoryEntry(2, 12 * SIZE, "")))
    assert candidates(8, spans, 0, SIZE) == [1]             # before timeline 2 began
    assert candidates(9, spans, 1, SIZE) == [2, 1]          # the switch segment: newest first
    assert candidates(12, spans, 2, SIZE) == [3, 2]         # never back below the previous file's timeline
    assert candidates(13, spans, 3, SIZE) == [3]


# --------------------------------------------------------------------------- coverage


def seg(tli: int, segno: int) -> str:
    return segment_name(tli, segno, SIZE)


def lineage(*names: str, histories: dict | None = None, issues: dict | None = None, partial: tuple = (),
            size: int | None = None) -> LineageState:
    """A lineage holding these segments, archived a minute apart in name order."""
    wal = tuple(WalSegment(n, T0 + timedelta(minutes=i), n in partial) for i, n in enumerate(sorted(names)))
    return LineageState("app", (), bool(names), wal, histories or {}, issues or {}, None, size, None)


def backup(begin: int = 7, end: int = 7, tli: int = 1, size: int | None = SIZE, lsn: int | None = None,
           begin_wal: str | None = "") -> BaseBackup:
    begin_wal = seg(tli, begin) if begin_wal == "" else begin_wal
    return BaseBackup("b1", DONE, T0, T0, begin_wal, seg(tli, end), begin * SIZE + 0x28 if lsn is None else lsn,
                      end * SIZE + 0x100, tli, 42, size)


def chain(cov) -> tuple:
    last = cov.last_segment.name if cov.last_segment else None
    return cov.target_timeline, cov.complete, cov.first_missing, last, cov.timeline


HIST2 = {2: (HistoryEntry(1, 9 * SIZE + 0x28, ""),)}


@pytest.mark.parametrize("lin,bak,expected", [
    pytest.param(lineage(*(seg(1, n) for n in range(3, 12))), backup(), (1, True, None, seg(1, 11), 1),
                 id="reaches the newest segment"),
    pytest.param(lineage(*(seg(1, n) for n in (5, 6, 8))), backup(), (1, False, seg(1, 7), None, None),
                 id="begin_wal missing"),
    pytest.param(lineage(*(seg(1, n) for n in (7, 8, 10))), backup(7, 9), (1, False, seg(1, 9), seg(1, 8), 1),
                 id="a segment between begin and end missing"),
    pytest.param(lineage(*(seg(1, n) for n in (7, 8, 9, 11, 12))), backup(7, 8), (1, True, None, seg(1, 9), 1),
                 id="a hole after end_wal ends the chain"),
    pytest.param(lineage(*(seg(1, n) for n in range(7, 11)), *(seg(2, n) for n in range(9, 13)), histories=HIST2),
                 backup(), (2, True, None, seg(2, 12), 2), id="promoted: followed onto timeline 2"),
    pytest.param(lineage(*(seg(1, n) for n in range(7, 11)), *(seg(2, n) for n in (10, 11)), histories=HIST2),
                 backup(), (2, True, None, seg(2, 11), 2),
                 id="switch segment only on the parent: read from timeline 1, then timeline 2"),
    pytest.param(lineage(*(seg(1, n) for n in range(7, 13)), *(seg(2, n) for n in (9, 10)), histories=HIST2),
                 backup(), (2, True, None, seg(2, 10), 2),
                 id="never back to timeline 1 once timeline 2 was read"),
    pytest.param(lineage(*(seg(1, n) for n in range(7, 11)), *(seg(3, n) for n in range(9, 11)),
                         histories={3: (HistoryEntry(1, 9 * SIZE, ""),)}),
                 backup(), (1, True, None, seg(1, 10), 1), id="2.history missing: timeline 3 is never probed"),
    pytest.param(lineage(*(seg(1, n) for n in range(7, 11)), *(seg(2, n) for n in range(9, 11)),
                         *(seg(3, n) for n in range(10, 12)),
                         histories={**HIST2, 3: (HistoryEntry(1, 10 * SIZE, ""),)}),
                 backup(), (3, True, None, seg(3, 11), 3), id="sibling timeline 2 is not on timeline 3's line"),
    pytest.param(lineage(*(seg(1, n) for n in (7, 8, 9)), partial=(seg(1, 8),)), backup(7, 9),
                 (1, False, None, seg(1, 8), 1), id="a .partial segment ends the chain"),
    pytest.param(lineage(*(seg(1, n) for n in (7, 8)), size=SIZE), backup(size=None), (1, True, None, seg(1, 8), 1),
                 id="segment size from the WAL header"),
])
def test_coverage(lin, bak, expected):
    cov = coverage(lin, bak)
    assert cov.problem is None
    assert chain(cov) == expected
    assert cov.restorable is expected[1]
    if cov.last_segment:
        assert cov.end_lsn == (parse_segment_name(cov.last_segment.name, SIZE)[1] + 1) * SIZE
        assert cov.archived_at == cov.last_segment.archived_at
    else:
        assert cov.end_lsn is None and cov.archived_at is None


@pytest.mark.parametrize("lin,bak,problem", [
    pytest.param(lineage(seg(1, 7), *(seg(2, n) for n in (7, 8)), histories={2: (HistoryEntry(1, 6 * SIZE, ""),)}),
                 backup(), "timeline 2, which forked off timeline 1 at 0/6000000, before this backup "
                           "(0/7000028): PostgreSQL stops with \"requested timeline 2 is not a child",
                 id="the newest timeline forked before the backup"),
    pytest.param(lineage(seg(2, 7), seg(3, 7), histories={3: (HistoryEntry(1, 6 * SIZE, ""),)}),
                 backup(tli=2), "timeline 3, which does not descend from timeline 2",
                 id="a sibling's history: the backup's timeline is not on its line"),
    pytest.param(lineage(seg(1, 7), histories=HIST2, issues={3: "zstd data is corrupt"}), backup(),
                 "history file 00000003.history: zstd data is corrupt", id="the target's history is unreadable"),
    pytest.param(lineage(seg(1, 7)), backup(begin_wal=None), "backup.info records no begin_wal (status DONE)",
                 id="no begin_wal"),
    pytest.param(lineage(seg(1, 7)), backup(size=None), "WAL segment size unknown", id="no segment size"),
    pytest.param(lineage(seg(1, 7)), backup(size=1024 * MB), "backup.info: '000000010000000000000007' is not",
                 id="names that do not fit the segment size"),
])
def test_coverage_problems(lin, bak, problem):
    cov = coverage(lin, bak)
    assert problem in cov.problem
    assert (cov.complete, cov.restorable, cov.first_missing, cov.last_segment, cov.end_lsn) == \
        (False, False, None, None, None)


def test_unreadable_history_of_an_intermediate_timeline_still_counts_as_present():
    """The probe only asks whether a file exists; only the target's file is read."""
    lin = lineage(*(seg(1, n) for n in range(7, 10)), *(seg(3, n) for n in range(8, 10)),
                  histories={3: (HistoryEntry(1, 8 * SIZE, ""), HistoryEntry(2, 8 * SIZE + 0x100, ""))},
                  issues={2: "gzip data is corrupt"})
    assert chain(coverage(lin, backup())) == (3, True, None, seg(3, 9), 3)


def test_wal_span():
    lin = lineage(seg(2, 9), seg(1, 3), seg(1, 4))
    span = wal_span(lin)
    assert (span.first.name, span.newest.name) == (seg(1, 3), seg(2, 9))
    assert span.newest.archived_at - span.first.archived_at == timedelta(minutes=2)
    assert wal_span(lineage()) is None


# --------------------------------------------------------------------------- PostgreSQL agrees


def test_names_and_lsns_agree_with_postgres(realparts):
    """pg_walfile_name_offset and pg_lsn on the real server. PostgreSQL's function counts
    a boundary byte to the previous segment (XLByteToPrevSeg), hence ``lsn - 1``."""
    lsns = ["0/1", "0/FFFFF", "0/100000", "0/7000028", "0/FFFFFFFF", "1/0", "1/100000", "2A/B374D848"]
    size = int(realparts.pg.psql("SELECT pg_size_bytes(current_setting('wal_segment_size'))"))
    rows = realparts.pg.psql("SELECT l, (pg_walfile_name_offset(l::pg_lsn)).file_name, (l::pg_lsn - '0/0')::text, "
                             f"l::pg_lsn::text FROM unnest(ARRAY{lsns!r}) AS l").splitlines()
    tli = int(realparts.pg.psql("SELECT timeline_id FROM pg_control_checkpoint()"))
    for row in rows:
        text, name, number, canonical = row.split("|")
        assert parse_lsn(text) == int(number)
        assert format_lsn(int(number)) == canonical
        assert segment_name(tli, segment_of(int(number) - 1, size), size) == name
