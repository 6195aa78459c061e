"""`python -m gans <command>`: the steps the Snakemake rules call, each usable by hand.

Each command module exposes `register(subparsers)`, which adds its subcommand(s) with
`set_defaults(func=...)`; the function takes the parsed namespace and returns an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Optional, Sequence

COMMAND_MODULES = (
    "gans.commands",          # prepare, train, sample, sample-real, list
    "gans.metrics.commands",  # train-classifier, real-features, evaluate
    "gans.report.commands",   # aggregate, report
    "gans.digest",            # digest, check-digest
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gans", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one command; a file that could not be written (a full disk) ends it with one line."""
    from gans.io import WriteFailed

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except WriteFailed as error:
        print(f"[{args.command}] FAILED: {error.strerror}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
