"""Screenshots of the study report for the README, and its PDF print, by headless Chromium.

    uv run --frozen --no-sync python scripts/report_screenshots.py [--report data/report/study_report.html]
        [--out docs/screenshots] [--pdf data/report/study_report.pdf]

Needs a report (`make demo` writes one) and a Chromium binary (`apt-get install chromium`; set
CHROMIUM=/path/to/chrome otherwise). Each picture is one part of the report cut into a page of its own with the
report's <head> (its styles): a headless screenshot shows a page from the top, it does not scroll to an anchor.
Not part of the tests (tests/test_report_render.py checks the rendering).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: picture -> the section whose <h2> title starts with this text; "" is the report's top (before the first <h2>).
PARTS = {
    "report_top.png": "",  # the banner, the synopsis box and the contents
    "report_table1.png": "Baseline characteristics (Table 1)",
    "report_km.png": "Overall survival, matched set",
    "report_safety.png": "Safety (Tables 2-4)",
}
WIDTH = 1000


def chromium() -> str:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    sys.exit("no Chromium found: apt-get install chromium, or set CHROMIUM=/path/to/chrome")


def cut(page: str, title: str) -> str:
    """The report's <head> and body start, with only the part named by `title` ("" the top: everything before the
    first section) - a page of its own."""
    head, body = page.split("<body>", 1)
    body = body.removesuffix("</body></html>")
    starts = [m.start() for m in re.finditer(r"<h2[ >]", body)]
    if not title:  # (the synopsis box has an <h2> of its own: the top ends at the first numbered section)
        first = body.find('<h2 id="s0"')
        part = body[:first] if first >= 0 else body
    else:
        begin = next((s for s in starts if body[s:].split(">", 1)[1].startswith(title)), None)
        if begin is None:
            raise SystemExit(f"no section titled {title!r} in the report")
        end = next((s for s in starts if s > begin), len(body))
        part = body[begin:end]
    return f"{head}<body>{part}</body></html>"


def trim(png: Path, margin: int = 16) -> None:
    """Crop the screenshot's empty (white) bottom and right, keeping a margin; 256 colours."""
    from PIL import Image, ImageOps

    with Image.open(png) as img:
        rgb = img.convert("RGB")
    box = ImageOps.invert(rgb.convert("L")).point(lambda v: 255 if v > 8 else 0).getbbox()
    if box:
        rgb = rgb.crop((0, 0, min(rgb.width, box[2] + margin), min(rgb.height, box[3] + margin)))
    rgb.quantize(colors=256).save(png, optimize=True)  # (a third of the size; text and curves stay sharp)


def screenshot(browser: str, html: Path, out: Path, height: int = 5000) -> None:
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--window-size={WIDTH},{height}", f"--screenshot={out}", html.as_uri()],
                   check=True, capture_output=True, timeout=180)
    trim(out)


def print_pdf(browser: str, html: Path, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--print-to-pdf={out}", html.resolve().as_uri()], check=True, capture_output=True, timeout=180)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, default=Path("data/report/study_report.html"))
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--pdf", type=Path, default=Path("data/report/study_report.pdf"))
    args = parser.parse_args()
    if not args.report.is_file():
        sys.exit(f"{args.report}: no report (make demo writes one)")
    browser = chromium()
    page = args.report.read_text(encoding="utf-8")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, title in PARTS.items():
            html = Path(tmp) / f"{Path(name).stem}.html"
            html.write_text(cut(page, title), encoding="utf-8")
            screenshot(browser, html, args.out / name)
            print(args.out / name)
    print_pdf(browser, args.report, args.pdf)
    print(args.pdf)


if __name__ == "__main__":
    main()
