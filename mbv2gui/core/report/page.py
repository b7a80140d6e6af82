"""A report of a run as one self-contained HTML file: every picture inline (data URIs), no
script, no link to fetch. Kept to the HTML that Qt's rich-text engine also lays out (tables with
attributes, simple CSS), so the PDF (gui/common/pdf.py) is printed from the very same page.

    write_report_html(run_dir, out_file) -> the HTML text written
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from mbv2gui.core.report.charts import curves_png, data_uri, thumbnail_png
from mbv2gui.core.report.content import report_content

_STYLE = """
body { font-family: sans-serif; font-size: 10pt; color: #222; margin: 24px; }
h1 { font-size: 17pt; margin-bottom: 2px; } h2 { font-size: 13pt; margin-top: 18px; }
.muted { color: #666; } td, th { padding: 3px 6px; } th { background: #eef1f6; }
table { border-collapse: collapse; } .num { text-align: right; }
"""


def e(value) -> str:
    return html.escape(str(value))


def _table(header: list[str], rows: list[list], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td{" class=num align=right" if i >= numeric_from else ""}>'
                         f"{e(v)}</td>" for i, v in enumerate(row)) + "</tr>" for row in rows)
    return (f'<table border="1" cellspacing="0" cellpadding="4" style="border-color:#bbb">'
            f"<tr>{head}</tr>{body}</table>")


def _percent(value) -> str:
    return "—" if value is None else f"{value:.0%}"


def _heat(share: float, diagonal: bool) -> str:
    """Cell colour: blue for right answers, red for mistakes, deeper for more of the row."""
    base = (59, 111, 212) if diagonal else (214, 60, 50)
    r, g, b = (round(255 - (255 - c) * min(1.0, share) * 0.85) for c in base)
    return f"#{r:02x}{g:02x}{b:02x}"


def confusion_html(names: list[str], matrix: list[list[int]]) -> str:
    """Rows: the true class; columns: the class the model chose; counts, coloured by share."""
    head = "".join(f"<th>{e(n)}</th>" for n in names)
    rows = []
    for i, row in enumerate(matrix):
        total = sum(row) or 1
        cells = "".join(
            f'<td align="center" bgcolor="{_heat(count / total, i == j)}" '
            f'style="background-color:{_heat(count / total, i == j)}">{count}</td>'
            for j, count in enumerate(row))
        rows.append(f"<tr><th align=left>{e(names[i])}</th>{cells}</tr>")
    return ('<table border="1" cellspacing="0" cellpadding="5" style="border-color:#bbb">'
            f"<tr><th>true ↓ / chosen →</th>{head}</tr>{''.join(rows)}</table>")


def _mistakes_html(mistakes: list[dict]) -> str:
    if not mistakes:
        return "<p>No mistakes on the validation images.</p>"
    cells = []
    for m in mistakes:
        png = thumbnail_png(m["path"])
        picture = (f'<img src="{data_uri(png)}" width="96" alt="{e(Path(m["path"]).name)}">'
                   if png else f"<i>{e(Path(m['path']).name)}: unreadable now</i>")
        cells.append(f'<td valign="top" width="120">{picture}<br><b>{e(m["predicted"])}</b> '
                     f'{m["confidence"]:.0%}<br><span class="muted">really {e(m["true"])}<br>'
                     f'{e(Path(m["path"]).name)}</span></td>')
    rows = ["<tr>" + "".join(cells[i:i + 6]) + "</tr>" for i in range(0, len(cells), 6)]
    return f'<table cellspacing="4">{"".join(rows)}</table>'


def _exports_html(exports: dict) -> str:
    if not exports:
        return "<p>This run has not been exported yet.</p>"
    from mbv2gui.core.export.formats import TITLES, agreement_words

    rows = []
    for fmt, entry in exports.items():
        agreement = entry.get("agreement") or {}
        checked = agreement_words(agreement)
        if agreement.get("source"):
            checked += f" (the images: {agreement['source']})"
        if entry.get("structure"):
            checked += f": {entry['structure']}"
        rows.append([TITLES.get(fmt, fmt), ", ".join(entry.get("files", [])), checked,
                     str(entry.get("exported", ""))[:16].replace("T", " ")])
    return _table(["Format", "Files", "How it was checked", "When"], rows, 99)


def report_html(content: dict) -> str:
    c = content
    counts = c["counts"]
    splits = [s for s in ("train", "validation", "test") if counts and s in counts[0]]
    count_rows = [[r["class"], *[r[s] for s in splits]] for r in counts]
    count_rows.append(["all classes", *[sum(r[s] for r in counts) for s in splits]])
    per_class = [[m["class"], _percent(m["precision"]), _percent(m["recall"]),
                  _percent(m["f1"]), m["images"]] for m in c["per_class"]]
    curves = curves_png(c["history"])
    source = c["weights_source"].rstrip(".")
    start = e(c["start"]) + (f" — {e(source)}" if source else "")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(c['title'])}</title>
<style>{_STYLE}</style></head><body>
<h1>{e(c['title'])}</h1>
<p class="muted">Report written {e(c['written'])} by {e(c['app'])} · run {e(c['run_id'])}</p>

<h2>Accuracy</h2>
<p><b>{e(c['accuracy_words'])}</b></p>
<p>{e(c['verdict'])}</p>

<h2>Data</h2>
<p>{len(c['class_names'])} classes: {e(', '.join(c['class_names']))}.
Images: {e(c['split'])}</p>
{_table(['Class', *splits], count_rows)}
<p>{e(c['near_duplicates'])}</p>

<h2>Settings</h2>
<p>Starting weights: {start}.</p>
{_table(['Setting', 'Value'], [list(row) for row in c['settings']], 99)}

<h2>Training curves</h2>
{f'<img src="{data_uri(curves)}" width="600" alt="loss and accuracy per epoch">' if curves
 else '<p>No curves were recorded for this run.</p>'}

<h2>Each class</h2>
<p>Precision: of the images the model called this class, how many were. Recall: of the images
of this class, how many it found.</p>
{_table(['Class', 'Precision', 'Recall', 'F1', 'Validation images'], per_class)}

<h2>Confusion matrix</h2>
<p>Each row is the true class of the validation images, each column the class the model
chose; the diagonal is right.</p>
{confusion_html(c['class_names'], c['confusion'])}

<h2>Most confident mistakes</h2>
{_mistakes_html(c['mistakes'])}

<h2>Exports</h2>
{_exports_html(c['exports'])}
</body></html>
"""


def write_report_html(run_dir, out_file) -> str:
    """Writes the report of the run in `run_dir` to `out_file` (whole, or not at all);
    returns its text (the PDF is printed from it)."""
    from mbv2gui.core.runs import Run

    text = report_html(report_content(Run.load(run_dir)))
    out_file = Path(out_file)
    temporary = out_file.with_name(out_file.name + ".partial")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, out_file)
    return text
