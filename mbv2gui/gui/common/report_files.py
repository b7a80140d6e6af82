"""A run's report as the pair of files a user gets: FILE.html (self-contained) and FILE.pdf
printed from it. One entry point for the command line (`mbv2gui report`) and File → Save
Report…, so both write the same files under the same names."""

from __future__ import annotations

from pathlib import Path


def report_paths(out) -> tuple[Path, Path]:
    """(the HTML file, the PDF file) for what the user typed or chose ("x", "x.html", "x.pdf")."""
    out = Path(out)
    base = out.with_suffix("") if out.suffix.lower() in (".html", ".htm", ".pdf") else out
    return base.with_name(base.name + ".html"), base.with_name(base.name + ".pdf")


def write_report(run_dir, out, pdf: bool = True) -> list[Path]:
    """The one entry point for the command and the window: the files written."""
    from mbv2gui.core.errors import UserError
    from mbv2gui.core.report.page import write_report_html

    html_file, pdf_file = report_paths(out)
    try:
        text = write_report_html(run_dir, html_file)
        written = [html_file]
        if pdf:
            from mbv2gui.gui.common.pdf import html_to_pdf  # Qt: imported only for a PDF

            written.append(html_to_pdf(text, pdf_file))
    except OSError as exc:
        raise UserError(f"The report could not be written to {html_file.parent}; choose a "
                        "folder you can write to.", str(exc)) from exc
    return written


def report_job(run_dir, out, report, should_stop) -> list[Path]:
    """`write_report` as a job (core/jobs.py), so the window writes a report off its GUI thread:
    drawing the charts and printing the PDF take a second or two. Qt's rich text and PDF
    writer work in a worker thread; only widgets must stay on the GUI thread."""
    from mbv2gui.core.jobs import message

    report(message(f"Writing the report of {Path(run_dir).name}…"))
    return write_report(run_dir, out)
