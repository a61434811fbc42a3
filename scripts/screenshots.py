"""Screenshots of the Dagster UI for the README: the asset graph and the checks page, by headless Chromium.

    uv run --frozen python scripts/screenshots.py [--url http://127.0.0.1:3000] [--out docs/img]

Needs a running `make ui` (after `make demo`, so the checks have results) and a Chromium binary (`apt-get install
chromium`; set CHROMIUM=/path/to/chrome otherwise). Not part of the tests.
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


def chromium() -> str:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    sys.exit("no Chromium found: apt-get install chromium, or set CHROMIUM=/path/to/chrome")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:3000")
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    browser = chromium()
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
