"""A headless Chromium that opens the HTML report from disk: what loaded, and a screenshot.

The page's own script writes on <body> how many tables it set up, how many figures decoded and how
many script errors occurred (html.py); `page_status` reads that back from the DOM Chromium dumps
after the page's load event. `screenshot` keeps a picture of the page (docs/report.png).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..core.config import ConfigError

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--virtual-time-budget=10000")


@dataclass(frozen=True)
class PageStatus:
    tables: int
    figures_loaded: int
    figures: int
    errors: int


def find_browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def _browser() -> str:
    browser = find_browser()
    if browser is None:
        raise ConfigError(f"no headless browser found (looked for {', '.join(BROWSERS)}); on Debian: "
                          "apt-get install chromium")
    return browser


def page_status(page: Path, timeout: float = 120) -> PageStatus:
    """Open `page` and read the load summary its script left on <body>."""
    dom = subprocess.run([_browser(), *FLAGS, "--dump-dom", page.resolve().as_uri()], capture_output=True,
                         text=True, timeout=timeout, check=True).stdout
    body = re.search(r"<body([^>]*)>", dom)
    attrs = dict(re.findall(r'data-([a-z]+)="([^"]*)"', body.group(1) if body else ""))
    if not {"tables", "figures", "errors"} <= attrs.keys():
        raise RuntimeError(f"{page}: the page's script did not run (body attributes: {attrs})")
    loaded, total = (int(x) for x in attrs["figures"].split("/"))
    return PageStatus(int(attrs["tables"]), loaded, total, int(attrs["errors"]))


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 2400, timeout: float = 120) -> Path:
    """A PNG of the top `height` pixels of `page` at `width`."""
    png.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([_browser(), *FLAGS, f"--window-size={width},{height}", f"--screenshot={png.resolve()}",
                    page.resolve().as_uri()], capture_output=True, timeout=timeout, check=True)
    if not png.is_file():
        raise RuntimeError(f"the browser wrote no screenshot of {page} to {png}")
    return png
