"""Re-make docs/report-panx.png, the README's screenshot of the PAN-X report.

    lossdb report --db panx.duckdb --run panx --out panx.html
    python docs/make_screenshot.py panx.html docs/report-panx.png

Needs Debian's chromium (/usr/bin/chromium) and playwright (pip install -e '.[test]').
It shows the worst sequences down to the UN mission (gold PER, predicted ORG), with the
details of one of its tokens as hovering shows them.
"""
from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright


def main(report: str, out: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1100, "height": 1400})
        page.goto(Path(report).resolve().as_uri())
        section = page.locator("#sequences")
        un = page.locator("li.seq", has_text="United Nations Multidimensional").first
        page.evaluate(f"window.scrollTo(0, {section.bounding_box()['y'] - 10})")
        un.locator(".tok", has_text="stabilization").first.hover()
        top = section.bounding_box()["y"]
        box, tip = un.bounding_box(), page.locator("#tip").bounding_box()
        bottom = max(box["y"] + box["height"], tip["y"] + tip["height"]) + 12
        page.screenshot(path=out, clip={"x": 0, "y": top - 6, "width": 1100, "height": bottom - top + 6})
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:3])
