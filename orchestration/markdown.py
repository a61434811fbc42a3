"""The one markdown table of the UI's metadata (raw loads, checks, analysis results)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import dagster as dg


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):  # None and NaN show as empty
        return ""
    return (f"{value:.4g}" if isinstance(value, float) else str(value)).replace("|", "/").replace("\n", " ")


def md_table(columns: Sequence[str], rows: Iterable[Sequence[object]], *, max_rows: int = 50,
             empty: str = "none") -> dg.MetadataValue:
    """A markdown table of at most `max_rows` rows (saying how many more there are); `empty` when there is none."""
    rows = list(rows)
    if not rows:
        return dg.MetadataValue.md(empty)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows[:max_rows]]
    if len(rows) > max_rows:
        lines.append(f"\n({len(rows) - max_rows} more rows)")
    return dg.MetadataValue.md("\n".join(lines))
