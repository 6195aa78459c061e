"""The report commands: aggregate (files -> tidy store) and report (store -> tables, figures, README)."""

from __future__ import annotations

import argparse
from pathlib import Path

INCEPTION_HELP = ("the workflow has Inception weights (config inception.weights): image datasets "
                  "were also evaluated with inception-v3-compat")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "aggregate", help="gather a suite's metrics, status and benchmark files into the tidy store")
    p.add_argument("--suite-file", required=True, help="benchmarks/<suite>.yaml")
    p.add_argument("--results", required=True,
                   help="the suite's results folder (results/<suite>; shared files in its parent)")
    p.add_argument("--out", required=True, help="store CSV (store.parquet is written beside it)")
    p.add_argument("--inception", action="store_true", help=INCEPTION_HELP)
    p.set_defaults(func=cmd_aggregate)

    p = subparsers.add_parser(
        "report", help="tables (Markdown, HTML, LaTeX), figures (PNG, SVG) and README.md of a suite")
    p.add_argument("--suite-file", required=True, help="benchmarks/<suite>.yaml")
    p.add_argument("--results", required=True,
                   help="the suite's results folder (results/<suite>; shared files in its parent)")
    p.add_argument("--out", required=True, help="report folder (reports/<suite>)")
    p.add_argument("--store", default=None, help="the tidy store (default: <results>/store.csv)")
    p.add_argument("--inception", action="store_true", help=INCEPTION_HELP)
    p.set_defaults(func=cmd_report)


def cmd_aggregate(args: argparse.Namespace) -> int:
    from gans.layout import ResultsLayout
    from gans.report.index import run_summary
    from gans.report.store import build_store, write_store
    from gans.suite import load_suite

    store = build_store(load_suite(args.suite_file), ResultsLayout.from_suite_dir(args.results),
                        args.inception)
    written = write_store(store, Path(args.out))
    print(f"[aggregate] {len(store)} rows ({run_summary(store)}) -> "
          f"{', '.join(str(p) for p in written)}", flush=True)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from gans.layout import ResultsLayout
    from gans.report.index import build_report
    from gans.report.store import load_store
    from gans.suite import load_suite

    results = ResultsLayout.from_suite_dir(args.results, args.out)
    store_path = Path(args.store or results.store_file())
    if not store_path.is_file():
        raise SystemExit(f"[report] no store at {store_path}: run `python -m gans aggregate` first")
    index = build_report(load_suite(args.suite_file), load_store(store_path), results,
                         args.inception, store_path)
    print(f"[report] {index} (tables and figures under {index.parent})", flush=True)
    return 0
