"""The `mbv2gui` command.

With no subcommand, or with a project path, it opens the window. Subcommands run the same core
jobs from a terminal; each lives in `mbv2gui/commands/<name>.py`, which defines
`add_arguments(parser)` and `run(args) -> int`, and is imported only when used (so that
`mbv2gui --help` does not pay for TensorFlow).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from mbv2gui import __version__

SUBCOMMANDS = {
    "train": "Train a classifier on a folder (one subfolder per class) or a project.",
    "predict": "Predict the class of images with a trained run.",
    "evaluate": "Report accuracy, per-class metrics and the confusion matrix of a run.",
    "export": "Export a run's model to Keras, SavedModel, TFLite, ONNX or a web page.",
    "report": "Write a report of a run (HTML and PDF): data, settings, curves, accuracy, "
              "confusion matrix, mistakes, exports.",
    "recover": "Make a recovered copy of a damaged project beside it.",
}


def _command_module(name: str):
    return importlib.import_module(f"mbv2gui.commands.{name}")


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mbv2gui",
        description="Turn folders of images into an image classifier. "
        "Run without a subcommand to open the app (`mbv2gui PROJECT` opens that project).",
    )
    parser.add_argument("--version", action="version", version=f"mbv2gui {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = next((arg for arg in argv if arg in SUBCOMMANDS), None)
    for name, help_text in SUBCOMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if name == wanted:  # only the command being run imports its module
            _command_module(name).add_arguments(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--smoke-test"] and len(argv) == 2:
        # Hidden: packaging/smoke.sh runs the built app through a whole session this way.
        from mbv2gui.gui.shell.smoke import run_smoke_test

        return run_smoke_test(argv[1])
    wants_help = any(arg in ("-h", "--help") for arg in argv)
    if not argv or (argv[0] not in SUBCOMMANDS and not argv[0].startswith("-")
                    and not wants_help):  # `mbv2gui PATH --help` prints help, opens nothing
        from mbv2gui.gui.shell.app import run_app

        return run_app(argv[0] if argv else None)
    parser = build_parser(argv)
    if wants_help and argv[0] not in SUBCOMMANDS:
        parser.print_help()
        return 0
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from mbv2gui.core.errors import UserError

    try:
        return int(_command_module(args.command).run(args) or 0)
    except UserError as exc:
        print(f"mbv2gui: {exc.message}", file=sys.stderr)
        if getattr(exc, "recoverable", False):  # a damaged project: say how to recover it
            print(f"mbv2gui: to make the recovered copy: mbv2gui recover \"{exc.path}\"",
                  file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mbv2gui: interrupted.", file=sys.stderr)
        return 130
