"""`mbv2gui export RUN --format F --out PATH [--project P] [--int8-input uint8|int8]`"""

from __future__ import annotations

from mbv2gui.core.export.formats import FORMATS


def add_arguments(parser) -> None:
    parser.add_argument("run", metavar="RUN", help="the run folder (made by `mbv2gui train`)")
    parser.add_argument("--format", required=True, choices=list(FORMATS),
                        help="; ".join(f"{k}: {v}" for k, v in FORMATS.items()))
    parser.add_argument("--out", required=True, metavar="PATH",
                        help="folder to write the model, labels.txt, model.json and the how-to "
                             "into (created if needed)")
    parser.add_argument("--project", metavar="P", default=None,
                        help="the project or folder the run was trained on: its training images "
                             "calibrate tflite-int8 (default: the folders of the run's images)")
    parser.add_argument("--int8-input", choices=("uint8", "int8"), default="uint8",
                        help="input and output type of tflite-int8 (default uint8)")


def run(args) -> int:
    from mbv2gui.commands.progress import run_job
    from mbv2gui.core.errors import JobCancelled, UserError
    from mbv2gui.core.export import export_run

    try:
        result = run_job(export_run, args.run, args.format, args.out,
                         project_path=args.project, int8_input=args.int8_input)
    except JobCancelled:
        raise UserError("The export was stopped; nothing was written.") from None
    print(result.summary())
    return 0
