"""File checksums and record counts, streamed in blocks (files can be hundreds of MB).

`file_stats` reads a file once and gives what the loader needs to account for every record independently of the
CSV parser: the sha256 of the file as delivered, physical lines, CSV records (a quoted field may span lines, RFC
4180), blank lines, the first line that is not valid UTF-8, and a quoted field left open at the end of the file.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_BLOCK = 1 << 22
_QUOTE, _NL, _CR = ord('"'), ord("\n"), ord("\r")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class FileStats:
    sha256: str  # of the file as delivered (compressed if it is)
    bytes: int
    lines: int  # physical lines (a last line without a newline counts)
    blank_lines: int  # empty records (only a line break), which CSV readers skip
    records: int = 0  # CSV records, the header and blank ones included: a line break inside quotes continues one
    invalid_utf8_line: int | None = None  # first physical line holding bytes that are not UTF-8
    unterminated_quote_line: int | None = None  # line where a quoted field opens that the file never closes
    # Where records and physical lines part (rare; empty for most files): blank records and records spanning
    # several lines, by record index (header = 0). The loader maps records to physical lines with them.
    blank_records: tuple[int, ...] = ()
    multiline_records: tuple[tuple[int, int], ...] = ()  # (record index, extra lines it spans)

    @property
    def data_records(self) -> int:
        """Records after the header, blank ones left out: what a CSV reader must account for."""
        return max(self.records - self.blank_lines - 1, 0)


def open_source(path: Path):
    """Compressed files (`.gz`) are counted as their content; the checksum stays that of the delivered file."""
    return gzip.open(path, "rb") if str(path).lower().endswith(".gz") else Path(path).open("rb")


class _Counter:
    """Quote-aware record counting over consecutive blocks. A block without a quote character and without an
    empty line (most of a PRO-ACT file) takes a fast path of byte counts; others are scanned vectorised with numpy:
    a line break ends a record when the quotes before it are balanced."""

    def __init__(self) -> None:
        self.offset = 0  # bytes seen before the current block
        self.newlines = 0
        self.records_ended = 0
        self.in_quote = False
        self.last_end = -1  # global position of the last record-ending line break (-1: start of file)
        self.last_end_break = -1  # global index (among all line breaks) of the last record-ending one
        self.blank_records: list[int] = []
        self.multiline: list[tuple[int, int]] = []
        self.tail = b"\n"  # the last two bytes seen (a file starting with a line break starts with a blank line)

    @property
    def record_open_line(self) -> int:
        """The physical line where the record being read began (the line after the last record-ending break)."""
        return self.last_end_break + 2

    def feed(self, block: bytes) -> None:
        start, joined = self.offset, self.tail + block
        quoted = self.in_quote or _QUOTE in block
        if not quoted and b"\n\n" not in joined and b"\n\r\n" not in joined:
            count = block.count(b"\n")
            if count:
                if self.newlines - self.last_end_break > 1:  # a quoted field's breaks came in earlier blocks
                    self.multiline.append((self.records_ended, self.newlines - self.last_end_break - 1))
                self.records_ended += count
                self.last_end = start + block.rfind(b"\n")
                self.newlines += count
                self.last_end_break = self.newlines - 1
        else:
            arr = np.frombuffer(block, dtype=np.uint8)
            breaks = np.flatnonzero(arr == _NL)
            if quoted:
                quotes = np.cumsum(arr == _QUOTE, dtype=np.int64)
                keep = (quotes[breaks] + int(self.in_quote)) % 2 == 0
                if len(arr):
                    self.in_quote = bool((int(quotes[-1]) + int(self.in_quote)) % 2)
            else:
                keep = np.ones(len(breaks), dtype=bool)
            ends = breaks[keep]
            if len(ends):
                gaps = np.diff(np.concatenate(([self.last_end - start], ends)))
                before = np.where(ends >= 1, arr[np.maximum(ends - 1, 0)], self.tail[-1] if self.tail else 0)
                blank = (gaps == 1) | ((gaps == 2) & (before == _CR))
                record = self.records_ended + np.arange(len(ends))
                end_breaks = self.newlines + np.flatnonzero(keep)
                spans = np.diff(np.concatenate(([self.last_end_break], end_breaks)))
                if blank.any():
                    self.blank_records.extend(record[blank].tolist())
                if (spans > 1).any():
                    self.multiline.extend(zip(record[spans > 1].tolist(), (spans[spans > 1] - 1).tolist(),
                                              strict=True))
                self.last_end_break = int(end_breaks[-1])
                self.records_ended += len(ends)
                self.last_end = start + int(ends[-1])
            self.newlines += len(breaks)
        self.offset += len(block)
        self.tail = joined[-2:]


def file_stats(path: Path) -> FileStats:
    """Checksum, lines, records and encoding findings in one streamed pass (two for a compressed file: the
    checksum over the delivered bytes, the counts over the content)."""
    path = Path(path)
    digest, size = hashlib.sha256(), 0  # (over the content read: the delivered bytes unless compressed)
    compressed = str(path).lower().endswith(".gz")
    counter = _Counter()
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    invalid_line = None
    with open_source(path) as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            if not compressed:
                digest.update(block)
            size += len(block)
            if invalid_line is None:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    invalid_line = counter.newlines + block.count(b"\n", 0, exc.start) + 1
            counter.feed(block)
    if invalid_line is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            invalid_line = counter.newlines + 1
    trailing = size > 0 and counter.last_end != size - 1  # a last record without a line break
    records = counter.records_ended + (1 if trailing and not counter.in_quote else 0)
    lines = counter.newlines + (1 if size and not counter.tail.endswith(b"\n") else 0)
    unterminated = counter.record_open_line if counter.in_quote else None
    sha256 = sha256_file(path) if compressed else digest.hexdigest()  # (of the file as delivered)
    return FileStats(sha256, path.stat().st_size if compressed else size, lines, len(counter.blank_records),
                     records, invalid_line, unterminated, tuple(counter.blank_records), tuple(counter.multiline))
