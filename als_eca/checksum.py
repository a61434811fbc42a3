"""File checksums, streamed in 1 MiB blocks (files can be hundreds of MB)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_BLANK = re.compile(rb"(?=\n\r?\n)")


@dataclass(frozen=True)
class FileStats:
    sha256: str
    bytes: int
    lines: int  # physical lines (a last line without a newline counts)
    blank_lines: int  # empty lines (only a line break), which CSV readers skip


def file_stats(path: Path) -> FileStats:
    """Checksum and line counts in one streamed pass (bytes.count runs at memory speed)."""
    digest, size, newlines, blank = hashlib.sha256(), 0, 0, 0
    tail = b"\n"  # the last bytes of the previous block; a file starting with a line break starts with a blank line
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
            size += len(block)
            newlines += block.count(b"\n")
            joined = tail + block
            if b"\n\n" in joined or b"\n\r\n" in joined:  # rare: only then pay for the (overlapping) regex count
                # a match lying wholly inside `tail` was counted with the previous block
                blank += len(_BLANK.findall(joined)) - (tail == b"\n\n")
            tail = joined[-2:]
    lines = newlines + (1 if size and not tail.endswith(b"\n") else 0)
    return FileStats(digest.hexdigest(), size, lines, blank)
