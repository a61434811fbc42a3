"""The study report: one self-contained HTML file (figures embedded as PNG data URIs).

Each section names the asset its numbers come from, so every figure in the report can be traced back.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass
class Image:
    caption: str
    png: bytes


@dataclass
class Section:
    title: str
    source_asset: str
    blocks: list[Any] = field(default_factory=list)  # str (paragraph), pd.DataFrame (table) or Image


def figure_png(fig) -> bytes:
    """A matplotlib Figure as PNG bytes (closes the figure)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


#: Screen: one readable column; a wide table scrolls inside its own box, never the page. Print (A4 portrait): smaller
#: type, tables that wrap their cells to the page width, figures and small tables kept whole on a page, headings
#: and the line introducing a table kept with what follows.
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;color:#222;
line-height:1.45;padding:0 1em}
h1{border-bottom:2px solid #444}h2{margin-top:2em;border-bottom:1px solid #ccc}
.table{overflow-x:auto;margin:1em 0}
table{border-collapse:collapse;font-size:.9em}th,td{border:1px solid #ccc;padding:.25em .6em;
text-align:left;vertical-align:top}th{background:#f3f3f3}tr:nth-child(even) td{background:#fafafa}
thead th[colspan]{text-align:center}
.source{color:#777;font-size:.85em}.source code{overflow-wrap:anywhere}
figure{margin:1em 0}figcaption{color:#555;font-size:.9em}
img{max-width:100%;height:auto}
.banner{background:#b00020;color:#fff;padding:.6em 1em;font-weight:600;border-radius:4px}
.synopsis{border:2px solid #444;padding:.2em 1em;margin:1em 0;background:#fbfbf7}
pre{background:#f6f6f6;padding:.6em;font-size:.8em;white-space:pre-wrap;overflow-wrap:anywhere}
.banner,.synopsis{-webkit-print-color-adjust:exact;print-color-adjust:exact;break-inside:avoid}
@page{size:A4 portrait;margin:15mm 12mm 15mm 12mm}
@media print{
body{max-width:none;margin:0;padding:0;font-size:9.5pt;line-height:1.3}
h1{font-size:16pt;margin-top:0}h2{font-size:12.5pt;margin-top:1.2em}
h1,h2,h3{break-after:avoid;page-break-after:avoid;break-inside:avoid}
h2+.source,p:has(+.table),p:has(+figure){break-after:avoid;page-break-after:avoid}
p{orphans:3;widows:3}
.table{overflow:visible;margin:.6em 0}
table{font-size:7.5pt;max-width:100%}
th,td{padding:1px 3px;overflow-wrap:break-word;hyphens:auto}
thead{display:table-header-group}tr{break-inside:avoid;page-break-inside:avoid}
.table.small,figure{break-inside:avoid;page-break-inside:avoid}
img{max-height:140mm}
th,tr:nth-child(even) td{-webkit-print-color-adjust:exact;print-color-adjust:exact}
a{color:inherit;text-decoration:none}
}
"""

#: A table of at most this many rows is kept whole on one printed page.
SMALL_TABLE_ROWS = 25


@dataclass
class Preformatted:
    """A block shown as written (the study spec's text)."""
    text: str


def _block_html(block: Any) -> str:
    if isinstance(block, Image):
        data = base64.b64encode(block.png).decode("ascii")
        return (f'<figure><img alt="{html.escape(block.caption)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{html.escape(block.caption)}</figcaption></figure>")
    if isinstance(block, Preformatted):
        return f"<pre>{html.escape(block.text)}</pre>"
    if isinstance(block, pd.DataFrame):
        size = " small" if len(block) <= SMALL_TABLE_ROWS else ""
        return (f'<div class="table{size}">' + block.to_html(index=False, na_rep="", escape=True, border=0)
                + "</div>")
    return f"<p>{html.escape(str(block))}</p>"


def render_report(title: str, sections: list[Section], subtitle: str = "", banner: str | None = None,
                  synopsis: Section | None = None) -> str:
    """Render the sections to a self-contained HTML document: `banner` (e.g. synthetic data) on top, then the
    `synopsis` box, the contents and the sections."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    toc = "".join(f'<li><a href="#s{i}">{html.escape(s.title)}</a></li>' for i, s in enumerate(sections))
    body = "".join(
        f'<h2 id="s{i}">{html.escape(s.title)}</h2><p class="source">source asset: '
        f"<code>{html.escape(s.source_asset)}</code></p>" + "".join(_block_html(b) for b in s.blocks)
        for i, s in enumerate(sections)
    )
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
        + (f'<p class="banner">{html.escape(banner)}</p>' if banner else "")
        + f"<p>{html.escape(subtitle)}</p><p class=source>generated {stamp}</p>"
        + (f'<div class="synopsis"><h2>{html.escape(synopsis.title)}</h2>'
           + "".join(_block_html(b) for b in synopsis.blocks) + "</div>" if synopsis else "")
        + f"<ol>{toc}</ol>{body}</body></html>"
    )


def write_report(path: Path, title: str, sections: list[Section], subtitle: str = "", banner: str | None = None,
                 synopsis: Section | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(title, sections, subtitle, banner, synopsis), encoding="utf-8")
    return path
