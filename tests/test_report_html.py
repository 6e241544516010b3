"""The HTML report: one self-contained page, checked in a real headless browser (Chromium)."""

from __future__ import annotations

import os
import re

import pytest

from robustbench_ft.cli.main import main
from robustbench_ft.report.browser import find_browser, page_status

NEEDS_BROWSER = pytest.mark.skipif(
    find_browser() is None and os.environ.get("ROBUSTBENCH_FT_REQUIRE_BROWSER") != "1",
    reason="no chromium here (CI installs it and sets ROBUSTBENCH_FT_REQUIRE_BROWSER=1)")


def _report(results, out):
    """The fixture's report against a baseline of two hand-made lines, so every figure is drawn."""
    baseline = out.parent / "baseline.yaml"
    baseline.write_text("fits: {sketch: {slope: 1.0, intercept: 0.0}, clipart: {slope: 1.0, intercept: -0.5}}\n")
    assert main(["report", "--results", str(results), "--out", str(out), "--format", "md,html",
                 "--baseline", str(baseline)]) == 0
    return out / "report.html"


def test_the_page_is_self_contained_and_lists_every_table_figure_and_failed_run(fixture_results, tmp_path):  # noqa: F811
    text = _report(fixture_results, tmp_path / "r").read_text()
    assert not re.search(r'(src|href)="(?!data:)', text)  # nothing loaded from elsewhere
    # accuracy, uncertainty, distortion, significance, claims and the WiSE curve
    assert text.count('<table class="sortable">') == 6
    assert text.count('<img alt=') == 5 and text.count('src="data:image/png;base64,') == 5
    assert "NonFiniteLossError: nan" in text and "incomplete (no result.json)" in text
    assert '<td class="best">65.1 ± 1.1</td>' in text  # Lipsum-FT's bold ID cell, as in accuracy.md


@NEEDS_BROWSER
def test_the_page_loads_in_headless_chromium_with_every_table_and_figure(fixture_results, tmp_path):  # noqa: F811
    page = _report(fixture_results, tmp_path / "r")
    status = page_status(page)
    assert status.errors == 0
    assert status.tables == page.read_text().count('<table class="sortable">') == 6
    assert status.figures_loaded == status.figures == 5  # every inlined PNG decoded


@NEEDS_BROWSER
def test_a_screenshot_of_the_page(fixture_results, tmp_path):  # noqa: F811
    png = tmp_path / "page.png"
    assert main(["report", "--results", str(fixture_results), "--out", str(tmp_path / "r"), "--format", "html",
                 "--screenshot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_a_screenshot_needs_the_html_format(fixture_results, tmp_path, capsys):  # noqa: F811
    assert main(["report", "--results", str(fixture_results), "--out", str(tmp_path / "r"), "--format", "md",
                 "--screenshot", str(tmp_path / "x.png")]) == 2
    assert "add html to --format" in capsys.readouterr().err


def test_a_screenshot_without_a_browser_is_one_line(fixture_results, tmp_path, capsys, monkeypatch):  # noqa: F811
    import robustbench_ft.report.browser as browser
    monkeypatch.setattr(browser, "find_browser", lambda: None)
    assert main(["report", "--results", str(fixture_results), "--out", str(tmp_path / "r"), "--format", "html",
                 "--screenshot", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "no headless browser found (looked for chromium" in err and "apt-get install chromium" in err
