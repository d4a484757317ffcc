"""Builders of store facts for the pure rules' tests: lineages as barman-cloud lays them
out (backup.info fields, WAL segments with their archive times), without a store.

Times are minutes after T0; segment numbers are 16 MB segments on one log, so
`wal(1, 2, 5)` is 000000010000000000000002 … 000000010000000000000005."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from renderer.objectstore import DONE, BaseBackup, LineageState, StoreState, WalSegment
from renderer.walchain import HistoryEntry

T0 = datetime(2026, 11, 1, tzinfo=UTC)
SIZE = 16 << 20
SYSTEM_A, SYSTEM_B = 7312000000000000001, 7312000000000000002


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def name(tli: int, segno: int) -> str:
    return f"{tli:08X}{0:08X}{segno:08X}"


def wal(tli: int, first: int, last: int, minute: float = 0) -> list[WalSegment]:
    """Segments first..last on `tli`, archived one minute apart from `minute`."""
    return [WalSegment(name(tli, n), at(minute + i)) for i, n in enumerate(range(first, last + 1))]


def backup(backup_id: str, first: int, last: int, ended: float, tli: int = 1, system: int | None = SYSTEM_A,
           status: str = DONE) -> BaseBackup:
    """A base backup needing segments first..last on `tli`, ended at minute `ended`."""
    return BaseBackup(backup_id, status, at(ended), at(ended - 1), begin_wal=name(tli, first),
                      end_wal=name(tli, last), begin_lsn=first * SIZE + 40, end_lsn=last * SIZE + 0x100,
                      timeline=tli, system_id=system, segment_size=SIZE)


def lineage(server: str, backups=(), segments=(), system: int | None = SYSTEM_A,
            histories: dict | None = None) -> LineageState:
    segments = tuple(sorted(segments, key=lambda s: s.name))
    return LineageState(server, tuple(backups), bool(segments) or bool(histories), segments,
                        histories=histories or {}, wal_system_id=system if segments else None,
                        wal_segment_size=SIZE if segments else None)


def promoted(parent: int, at_segment: int) -> tuple[HistoryEntry, ...]:
    """The history of the timeline a restore opens, forking off `parent` at `at_segment`."""
    return (HistoryEntry(parent, at_segment * SIZE + 0x200, "no recovery target specified"),)


def store(destination: str, *lineages: LineageState) -> dict[str, StoreState]:
    return {destination: StoreState(destination, {x.server_name: x for x in lineages})}


def backup_info(b: BaseBackup) -> str:
    """backup.info text as barman-cloud-backup writes the fields the rules read."""
    from renderer.walchain import format_lsn

    fields = {"backup_id": b.backup_id, "status": b.status, "begin_time": str(b.begin_time),
              "end_time": str(b.end_time), "begin_wal": b.begin_wal, "end_wal": b.end_wal,
              "begin_xlog": format_lsn(b.begin_lsn), "end_xlog": format_lsn(b.end_lsn), "timeline": b.timeline,
              "systemid": b.system_id, "xlog_segment_size": b.segment_size}
    return "".join(f"{k}={v}\n" for k, v in fields.items() if v is not None)


def segment_bytes(segment: str, system: int | None) -> bytes:
    """The first page header of a segment (XLogLongPageHeaderData), then padding."""
    import struct

    from renderer.walchain import parse_segment_name

    tli, segno = parse_segment_name(segment, SIZE)
    header = struct.pack("<HHIQIIQII", 0xD110, 0x0002, tli, segno * SIZE, 0, 0, system or 0, SIZE, 8192)
    return header + bytes(8192 - len(header))


def put_lineage(client, bucket: str, prefix: str, state: LineageState) -> None:
    """Lay `state` out in a bucket as barman-cloud does: base/<id>/backup.info,
    wals/<TLI+log>/<segment>, wals/<TLI>.history (the archive times are the store's)."""
    root = f"{prefix.strip('/')}/{state.server_name}"
    for b in state.backups:
        client.put_object(Bucket=bucket, Key=f"{root}/base/{b.backup_id}/backup.info", Body=backup_info(b).encode())
    for segment in state.wal:
        client.put_object(Bucket=bucket, Key=f"{root}/wals/{segment.name[:16]}/{segment.name}",
                          Body=segment_bytes(segment.name, state.wal_system_id))
    for tli, entries in state.histories.items():
        text = "".join(f"{e.parent_tli}\t{e.switchpoint >> 32:X}/{e.switchpoint & 0xFFFFFFFF:X}\t{e.reason}\n"
                       for e in entries)
        client.put_object(Bucket=bucket, Key=f"{root}/wals/{tli:08X}.history", Body=text.encode())
