"""A report of a run a supervisor can read: core/report/content.py (what it says, as plain
data), page.py (one self-contained HTML file), charts.py (its pictures, drawn with Pillow).
The PDF is printed from the same HTML by Qt (gui/common/pdf.py): core never imports Qt."""
