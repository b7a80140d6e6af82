"""`mbv2gui export RUN --format F --out PATH [--project P] [--int8-input uint8|int8]`"""

from __future__ import annotations

from mbv2gui.core.export.formats import FORMATS


def add_arguments(parser) -> None:
    parser.add_argument("run", metavar="RUN", help="the run folder (made by `mbv2gui train`)")
    parser.add_argument("--format", required=True, choices=list(FORMATS),
                        help="; ".join(f"{k}: {v}" for k, v in FORMATS.items()))
    parser.add_argument("--out", required=True, metavar="PATH",
                        help="folder to write the model, labels.txt, model.json and the how-to")
    parser.add_argument("--project", metavar="P", default=None,
                        help="the project file or folder the run was trained on (its training "
                             "images calibrate tflite-int8)")
    parser.add_argument("--int8-input", choices=("uint8", "int8"), default="uint8",
                        help="input/output type of tflite-int8 (default uint8)")


def run(args) -> int:
    from mbv2gui.commands.progress import run_job
    from mbv2gui.core.errors import JobCancelled, UserError
    from mbv2gui.core.export import export_run

    try:
        result = run_job(export_run, args.run, args.format, args.out,
                         project_path=args.project, int8_input=args.int8_input)
    except JobCancelled:
        raise UserError("The export was stopped; nothing was written.")
    agreement = result["agreement"]
    print(f"Exported {args.format} to {result['out_dir']}: {', '.join(result['files'])} "
          f"({result['bytes'] / 1e6:.2f} MB).")
    print(f"Same top answer as the app on {agreement['agreeing']} of {agreement['images']} "
          f"images ({agreement['top1_agreement']:.1%}, checked with {agreement['runtime']}).")
    return 0
