"""One module per `mbv2gui` subcommand: `add_arguments(parser)` and `run(args) -> int`."""
