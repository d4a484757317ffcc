"""The first bytes of an archived WAL file, as barman-cloud-wal-archive compressed it,
and the long page header they start with.

Why: a lineage that holds WAL but no base backup yet still says whose WAL it is. The
first page of every segment carries ``XLogLongPageHeaderData``
(``src/include/access/xlog_internal.h``), little-endian on the platforms CNPG runs::

    offset  0 uint16 xlp_magic      2 uint16 xlp_info (XLP_LONG_HEADER = 0x0002)
            4 uint32 xlp_tli        8 uint64 xlp_pageaddr   16 uint32 xlp_rem_len
           24 uint64 xlp_sysid     32 uint32 xlp_seg_size   36 uint32 xlp_xlog_blcksz

Only a prefix of the object is fetched (one ranged GET, ``HEAD_BYTES``), so each
format is decoded from its start: gzip, bzip2 and xz by the standard library's
incremental decompressors; snappy (framing format), lz4 (frame format) and zstd
(frame format) by reading their frame layout up to the first block and handing that
block to ``cramjam`` (one 4 MB wheel, imported only here and only when such a file is
read). Suffixes and compressions are barman's (``barman.cloud.ALLOWED_COMPRESSIONS``;
barman writes snappy with python-snappy's stream format, lz4 with ``lz4.frame`` and
zstd with ``zstandard``).
"""

from __future__ import annotations

import struct

from renderer.records import record

LONG_HEADER_SIZE = 40
XLP_LONG_HEADER = 0x0002
_KIB = 1024

# barman's suffix -> its name for the compression
COMPRESSIONS = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".snappy": "snappy", ".zst": "zstd", ".lz4": "lz4"}

# How many leading bytes of the object hold the first 40 bytes of the segment.
HEAD_BYTES = {
    "": LONG_HEADER_SIZE,
    ".gz": 64 * _KIB,        # a stream: output comes with the first block's first symbols
    ".xz": 64 * _KIB,        # likewise (LZMA2 chunks decode incrementally)
    ".bz2": 1024 * _KIB,     # a whole bzip2 block is needed: at most 900 kB of input, barely larger packed
    ".snappy": 80 * _KIB,    # one framing chunk: at most 64 KiB of data, packed to under 77 KiB
    ".lz4": 80 * _KIB,       # one block of lz4.frame's default 64 KiB maximum, plus the frame header
    ".zst": 129 * _KIB,      # one zstd block: at most 128 KiB, plus the frame header
}


class Unreadable(ValueError):
    """The leading bytes cannot be decoded; the message says why in a few words."""


@record(frozen=True)
class LongHeader:
    """The fields of a segment's first page header that identify its cluster."""

    timeline: int
    page_address: int
    system_id: int
    segment_size: int
    block_size: int


def split_suffix(name: str) -> tuple[str, str]:
    """``"X.gz"`` -> ``("X", ".gz")``; a name without a barman suffix -> ``(name, "")``."""
    base, dot, ext = name.rpartition(".")
    return (base, "." + ext) if dot and "." + ext in COMPRESSIONS else (name, "")


def long_header(raw: bytes) -> LongHeader:
    """Parse the first 40 bytes of a segment; Unreadable when they are not a long header."""
    if len(raw) < LONG_HEADER_SIZE:
        raise Unreadable("the file is shorter than a WAL page header")
    _magic, info, tli, pageaddr, _rem = struct.unpack_from("<HHIQI", raw, 0)
    sysid, seg_size, blcksz = struct.unpack_from("<QII", raw, 24)
    if not info & XLP_LONG_HEADER:
        raise Unreadable("the first page has no long header (not the start of a segment)")
    return LongHeader(tli, pageaddr, sysid, seg_size, blcksz)


def leading_bytes(data: bytes, suffix: str, want: int = LONG_HEADER_SIZE) -> bytes:
    """The first ``want`` bytes of the segment whose stored object starts with ``data``
    (fewer only when an uncompressed object is that short)."""
    out = _decoded(_PREFIX_DECODERS, data, suffix, want)
    if suffix and len(out) < want:
        raise Unreadable(f"{COMPRESSIONS[suffix]}: the header is not within the first {HEAD_BYTES[suffix]} bytes")
    return out[:want]


def decompress(data: bytes, suffix: str, limit: int) -> bytes:
    """A whole stored object (a history file) as it was before barman compressed it;
    Unreadable when it is cut short or unpacks to more than ``limit`` bytes."""
    return _decoded(_WHOLE_DECODERS, data, suffix, limit)


def _decoded(decoders: dict, data: bytes, suffix: str, want: int) -> bytes:
    """Run the decoder for ``suffix``, with every failure turned into Unreadable."""
    name = COMPRESSIONS.get(suffix, "uncompressed")
    try:
        return decoders[suffix](data, want)
    except Unreadable:
        raise
    except ImportError:
        raise Unreadable(f"{name} not readable (cramjam is not installed)") from None
    except Exception:  # each library has its own error class for corrupt input
        raise Unreadable(f"{name} data is corrupt") from None


def _gzip_decoder():
    import zlib

    return zlib.decompressobj(16 + zlib.MAX_WBITS)


def _bzip2_decoder():
    import bz2

    return bz2.BZ2Decompressor()


def _xz_decoder():
    import lzma

    return lzma.LZMADecompressor()


def _plain(data: bytes, want: int) -> bytes:
    return data[:want]


def _plain_whole(data: bytes, want: int) -> bytes:
    if len(data) > want:
        raise Unreadable(f"the object is larger than {want} bytes")
    return data


_STDLIB = {".gz": _gzip_decoder, ".bz2": _bzip2_decoder, ".xz": _xz_decoder}


def _stream(suffix: str, whole: bool):
    """gzip, bzip2 or xz by the standard library's incremental decompressors: the first
    ``want`` bytes, or (``whole``) all of a complete stream of at most ``want`` bytes."""

    def decode(data: bytes, want: int) -> bytes:
        decoder = _STDLIB[suffix]()
        out = decoder.decompress(data, want + whole)
        if whole and (not decoder.eof or len(out) > want):
            raise Unreadable(f"{COMPRESSIONS[suffix]}: the object is cut short or unpacks to more than {want} bytes")
        return out

    return decode


def _cramjam_whole(name: str):
    """cramjam's decoder for a whole snappy (framing format), lz4 or zstd frame."""

    def decode(data: bytes, want: int) -> bytes:
        import cramjam

        out = bytes(getattr(cramjam, name).decompress(data))
        if len(out) > want:
            raise Unreadable(f"{name}: the object unpacks to more than {want} bytes")
        return out

    return decode


def _snappy(data: bytes, want: int) -> bytes:
    """Snappy framing format (google/snappy framing_format.txt): chunks of type (1 byte)
    and length (3 bytes LE); 0xff stream identifier, 0x00 compressed and 0x01 plain data
    after a 4-byte CRC, 0x80-0xfe skippable. The first data chunk holds the header."""
    import cramjam

    pos = 0
    while pos + 4 <= len(data):
        kind, length = data[pos], int.from_bytes(data[pos + 1:pos + 4], "little")
        body = data[pos + 4:pos + 4 + length]
        if len(body) < length:
            break
        if kind == 0x00:
            return bytes(cramjam.snappy.decompress_raw(body[4:]))
        if kind == 0x01:
            return body[4:]
        if kind < 0x80:
            raise Unreadable(f"snappy: unknown chunk type {kind:#x}")
        pos += 4 + length
    return b""


_LZ4_MAGIC = 0x184D2204
_LZ4_BLOCK_MAX = {4: 64 * _KIB, 5: 256 * _KIB, 6: 1024 * _KIB, 7: 4096 * _KIB}


def _lz4(data: bytes, want: int) -> bytes:
    """LZ4 frame format (lz4/doc/lz4_Frame_format.md): magic, FLG, BD, optional content
    size (FLG bit 3) and dictionary ID (bit 0), header checksum; then blocks of a 4-byte
    size whose high bit marks stored data. The first block needs no earlier one."""
    import cramjam

    if len(data) < 7 or int.from_bytes(data[:4], "little") != _LZ4_MAGIC:
        raise Unreadable("lz4: not an lz4 frame")
    flags, bd = data[4], data[5]
    pos = 6 + (8 if flags & 0x08 else 0) + (4 if flags & 0x01 else 0) + 1
    if len(data) < pos + 4:
        return b""
    size = int.from_bytes(data[pos:pos + 4], "little")
    block = data[pos + 4:pos + 4 + (size & 0x7FFFFFFF)]
    if len(block) < size & 0x7FFFFFFF:
        return b""
    if size & 0x80000000:
        return block
    return bytes(cramjam.lz4.decompress_block(block, output_len=_LZ4_BLOCK_MAX.get(bd >> 4 & 7, 4096 * _KIB)))


_ZSTD_MAGIC = 0xFD2FB528
_ZSTD_WINDOW_128K = 7 << 3  # Window_Descriptor: exponent 7 (2^(10+7)), mantissa 0


def _zstd(data: bytes, want: int) -> bytes:
    """Zstandard frame format (RFC 8878): magic, Frame_Header_Descriptor, optional window
    descriptor, dictionary ID and content size; then blocks with a 3-byte header. The
    first block is decoded as a frame of its own (header without content size or
    checksum, a 128 KiB window as any block allows, the block marked last)."""
    import cramjam

    if len(data) < 6 or int.from_bytes(data[:4], "little") != _ZSTD_MAGIC:
        raise Unreadable("zstd: not a zstd frame")
    fhd = data[4]
    single = fhd >> 5 & 1
    pos = 5 + (0 if single else 1) + (0, 1, 2, 4)[fhd & 3] + ((1 if single else 0), 2, 4, 8)[fhd >> 6]
    if len(data) < pos + 3:
        return b""
    header = int.from_bytes(data[pos:pos + 3], "little")
    kind, size = header >> 1 & 3, header >> 3
    body = data[pos + 3:pos + 3 + (1 if kind == 1 else size)]
    if len(body) < (1 if kind == 1 else size):
        return b""
    frame = struct.pack("<IBB", _ZSTD_MAGIC, 0, _ZSTD_WINDOW_128K) + (header | 1).to_bytes(3, "little") + body
    return bytes(cramjam.zstd.decompress(frame))


_PREFIX_DECODERS = {"": _plain, **{k: _stream(k, False) for k in _STDLIB}, ".snappy": _snappy, ".lz4": _lz4,
                    ".zst": _zstd}
_WHOLE_DECODERS = {"": _plain_whole, **{k: _stream(k, True) for k in _STDLIB}, ".snappy": _cramjam_whole("snappy"),
                   ".lz4": _cramjam_whole("lz4"), ".zst": _cramjam_whole("zstd")}
