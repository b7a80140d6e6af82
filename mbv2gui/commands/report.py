"""`mbv2gui report RUN --out FILE`: a report of the run as one HTML file and a PDF beside it
(FILE.html and FILE.pdf; give --no-pdf for the HTML alone)."""

from __future__ import annotations


def add_arguments(parser) -> None:
    parser.add_argument("run", metavar="RUN", help="the run folder (made by `mbv2gui train`)")
    parser.add_argument("--out", required=True, metavar="FILE",
                        help="the report file; .html and .pdf are written beside each other")
    parser.add_argument("--no-pdf", action="store_true", help="write the HTML file only")


def run(args) -> int:
    from mbv2gui.gui.common.report_files import write_report

    for path in write_report(args.run, args.out, pdf=not args.no_pdf):
        print(f"Wrote {path}")
    return 0
