"""Screenshots of the Dagster UI for the README: the asset graph and the checks page, by headless Chromium; and
of the dbt docs site's overview page.

    uv run --frozen python scripts/screenshots.py [--url http://127.0.0.1:3000] [--out docs/img]
    uv run --frozen python scripts/screenshots.py --dbt-docs [dbt_project/target/static_index.html]

The UI pictures need a running `make ui` (after `make demo`, so the checks have results); `--dbt-docs` needs only
the static page of `make docs` and writes docs/screenshots/dbt_docs_overview.png. Both need a Chromium binary
(`apt-get install chromium`; set CHROMIUM=/path/to/chrome otherwise). Not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

PAGES = {
    "asset_graph.png": "/asset-groups",  # the global lineage: raw -> staging -> intermediate -> marts -> analysis
    "asset_checks.png": "/assets/marts/mart_survival_cohort?view=checks",
    "runs.png": "/runs",
}
DBT_DOCS = Path("dbt_project/target/static_index.html")  # `make docs`
DBT_DOCS_PICTURE = Path("docs/screenshots/dbt_docs_overview.png")


def chromium() -> str:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    sys.exit("no Chromium found: apt-get install chromium, or set CHROMIUM=/path/to/chrome")


def dbt_docs_overview(browser: str, page: Path = DBT_DOCS, target: Path = DBT_DOCS_PICTURE) -> Path:
    """The first page of the dbt docs site - the project's overview: what the warehouse is, its layers and marts -
    from the static page of `make docs` (one file holding dbt's app, manifest and catalog: no server needed)."""
    if not page.is_file():
        sys.exit(f"no {page}: run `make docs` first")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Tall enough for the title, the layers and the marts table; virtual time for dbt's app to read its inline
    # manifest and render before the capture.
    subprocess.run([browser, "--headless=new", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
                    "--window-size=1400,1350", "--virtual-time-budget=15000", f"--screenshot={target}",
                    page.resolve().as_uri() + "#!/overview"], check=True, capture_output=True)
    from PIL import Image

    with Image.open(target) as img:  # 256 colours: a third of the size, the text stays sharp
        quantized = img.convert("RGB").quantize(colors=256)
    quantized.save(target, optimize=True)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:3000")
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    parser.add_argument("--dbt-docs", type=Path, nargs="?", const=DBT_DOCS, metavar="STATIC_INDEX",
                        help=f"only the dbt docs overview (from `make docs`; no UI needed) -> {DBT_DOCS_PICTURE}")
    args = parser.parse_args()
    browser = chromium()
    if args.dbt_docs:
        print(f"wrote {dbt_docs_overview(browser, args.dbt_docs)}")
        return
    args.out.mkdir(parents=True, exist_ok=True)
    # The UI greets a new local instance with a community dialog; mark it seen (server side) so it does not cover
    # the pages.
    request = urllib.request.Request(f"{args.url}/graphql", data=json.dumps({"query": "mutation { setNuxSeen }"})
                                     .encode(), headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=30).read()
    for name, page in PAGES.items():
        target = args.out / name
        # The UI is a single-page app: give it virtual time to fetch and lay out before the capture.
        subprocess.run([browser, "--headless=new", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
                        "--window-size=1600,1000", "--virtual-time-budget=15000", f"--screenshot={target}",
                        args.url + page], check=True, capture_output=True)
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
