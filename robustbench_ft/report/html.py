"""One self-contained HTML page of a report (`report --format html`): opens from disk, offline.

Every table the report writes (accuracy, uncertainty, distortion, significance, published
numbers, claims), every figure inlined as a base64 PNG, and the runs that did not finish with the
reason. Tables sort by a click on a column header (numbers by value, the rest as text). A small
script records on <body> what loaded (data-tables, data-figures, data-errors), which is what the
browser test reads back from a headless Chromium.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

from .tables import Table, cell_text

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; } h3 { margin-top: 1.5em; }
table { border-collapse: collapse; margin: 0.5em 0; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 9px; border-bottom: 1px solid #e4e4e4; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { cursor: pointer; background: #f5f5f5; user-select: none; }
th.sorted-asc::after { content: " \\25B2"; } th.sorted-desc::after { content: " \\25BC"; }
td.best { font-weight: bold; }
ul.notes { color: #555; font-size: 0.92em; }
figure { display: inline-block; margin: 0.5em 1em 0.5em 0; vertical-align: top; }
figure img { max-width: 560px; border: 1px solid #eee; }
.failed { color: #a00; }
"""

SCRIPT = """
(function () {
  var errors = [];
  window.addEventListener('error', function (e) { errors.push(String(e.message)); });
  function key(cell) {
    var text = cell.textContent.trim(), number = parseFloat(text.replace(/^[^0-9+\\-.]*/, ''));
    return isNaN(number) ? text.toLowerCase() : number;
  }
  function sortBy(table, column, th) {
    var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
    var ascending = !th.classList.contains('sorted-asc');
    rows.sort(function (a, b) {
      var x = key(a.cells[column]), y = key(b.cells[column]);
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.className = ''; });
    th.className = ascending ? 'sorted-asc' : 'sorted-desc';
  }
  function ready() {
    var tables = document.querySelectorAll('table.sortable');
    Array.prototype.forEach.call(tables, function (table) {
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
        th.addEventListener('click', function () { sortBy(table, i, th); });
      });
    });
    var images = document.querySelectorAll('figure img'), loaded = 0;
    Array.prototype.forEach.call(images, function (img) { if (img.complete && img.naturalWidth > 0) loaded++; });
    document.body.setAttribute('data-tables', String(tables.length));
    document.body.setAttribute('data-figures', loaded + '/' + images.length);
    document.body.setAttribute('data-errors', String(errors.length));
  }
  window.addEventListener('load', ready);
})();
"""


@dataclass
class Section:
    """One benchmark's part of the page, filled in the order the report writes its files."""

    title: str
    blocks: list[str] = field(default_factory=list)

    def add_table(self, heading: str, table: Table) -> None:
        self.blocks.append(f"<h3>{html.escape(heading)}</h3>\n{table_html(table)}")

    def add_markdown(self, heading: str, text: str) -> None:
        self.blocks.append(f"<h3>{html.escape(heading)}</h3>\n{markdown_html(text)}")

    def add_figures(self, paths: list[Path]) -> None:
        pngs = [p for p in paths if p.suffix == ".png"]
        if pngs:
            self.blocks.append("<h3>Figures</h3>\n" + "\n".join(figure_html(p) for p in pngs))


def table_html(table: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ["Method", *table.columns])
    rows = []
    for row in table.rows:
        cells = [f"<td>{html.escape(row)}</td>"]
        for column in table.columns:
            best = ' class="best"' if (row, column) in table.bold else ""
            cells.append(f"<td{best}>{html.escape(cell_text(table, row, column))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>\n' + "\n".join(rows)
            + "\n</tbody></table>\n" + _notes(table.notes))


def markdown_html(text: str) -> str:
    """The report's own Markdown (pipe tables, '- ' notes, plain lines) as HTML."""
    out, table, notes = [], [], []

    def flush() -> None:
        if table:
            out.append(_pipe_table(table))
            table.clear()
        if notes:
            out.append(_notes(list(notes)))
            notes.clear()

    for line in text.splitlines():
        if line.startswith("|"):
            table.append(line)
        elif line.startswith("- "):
            notes.append(line[2:])
        else:
            flush()
            if line.strip():
                out.append(f"<p>{_inline(line)}</p>")
    flush()
    return "\n".join(out)


def _pipe_table(lines: list[str]) -> str:
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines]
    head, body = rows[0], [r for r in rows[1:] if not all(set(c) <= set("-:") for c in r)]
    th = "".join(f"<th>{_inline(c)}</th>" for c in head)
    trs = "\n".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in body)
    return f'<table class="sortable"><thead><tr>{th}</tr></thead><tbody>\n{trs}\n</tbody></table>'


def _cell(text: str) -> str:
    if text.startswith("**") and text.endswith("**"):
        return f'<td class="best">{_inline(text[2:-2])}</td>'
    return f"<td>{_inline(text)}</td>"


def _inline(text: str) -> str:
    """Escaped text with **bold**, *emphasis* and `code` spans (paired markers only)."""
    escaped = html.escape(text)
    for marker, tag in (("**", "b"), ("*", "i"), ("`", "code")):
        parts = escaped.split(marker)
        if len(parts) % 2 == 1 and len(parts) > 1:
            escaped = "".join(p if i % 2 == 0 else f"<{tag}>{p}</{tag}>" for i, p in enumerate(parts))
    return escaped


def _notes(notes: list[str]) -> str:
    if not notes:
        return ""
    return '<ul class="notes">' + "".join(f"<li>{_inline(n)}</li>" for n in notes) + "</ul>\n"


def figure_html(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    name = html.escape(path.stem.replace("_", " "))
    return (f'<figure><img alt="{name}" src="data:image/png;base64,{data}">'
            f"<figcaption>{name}</figcaption></figure>")


def page(title: str, sections: list[Section], skipped: list[tuple[str, str]]) -> str:
    """The whole document: sections, then the runs that did not finish."""
    body = [f"<h1>{html.escape(title)}</h1>"]
    for section in sections:
        body.append(f"<h2>{html.escape(section.title)}</h2>")
        body.extend(section.blocks)
    body.append("<h2>Runs without a result</h2>")
    if skipped:
        body.append('<ul class="failed">' + "".join(
            f"<li><code>{html.escape(folder)}</code>: {html.escape(why)}</li>" for folder, why in skipped) + "</ul>")
    else:
        body.append("<p>None: every run folder holds a result.</p>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style><script>{SCRIPT}</script></head>\n"
            "<body>\n" + "\n".join(body) + "\n</body></html>\n")
