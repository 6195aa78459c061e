"""The report commands: aggregate (files -> tidy store) and report (store -> tables, figures, README)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "aggregate", help="gather a suite's metrics, status and benchmark files into the tidy store")
    p.add_argument("--suite-file", required=True, help="benchmarks/<suite>.yaml")
    p.add_argument("--results", required=True, help="the suite's results folder (results/<suite>)")
    p.add_argument("--out", required=True, help="store CSV (store.parquet is written beside it)")
    p.set_defaults(func=cmd_aggregate)

    p = subparsers.add_parser(
        "report", help="tables (Markdown, HTML, LaTeX), figures (PNG, SVG) and README.md of a suite")
    p.add_argument("--suite-file", required=True, help="benchmarks/<suite>.yaml")
    p.add_argument("--results", required=True, help="the suite's results folder (results/<suite>)")
    p.add_argument("--out", required=True, help="report folder (reports/<suite>)")
    p.add_argument("--store", default=None, help="the tidy store (default: <results>/store.csv)")
    p.add_argument("--data-dir", default=None,
                   help="prepared data, for the toy modes (default: <results>/../data)")
    p.set_defaults(func=cmd_report)


def cmd_aggregate(args: argparse.Namespace) -> int:
    from gans.report.index import run_summary
    from gans.report.store import build_store, write_store
    from gans.suite import load_suite

    store = build_store(load_suite(args.suite_file), Path(args.results))
    written = write_store(store, Path(args.out))
    print(f"[aggregate] {len(store)} rows ({run_summary(store)}) -> "
          f"{', '.join(str(p) for p in written)}", flush=True)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from gans.report.index import build_report
    from gans.report.store import load_store
    from gans.suite import load_suite

    store_path = Path(args.store) if args.store else Path(args.results) / "store.csv"
    if not store_path.is_file():
        raise SystemExit(f"[report] no store at {store_path}: run `python -m gans aggregate` first")
    index = build_report(load_suite(args.suite_file), load_store(store_path), Path(args.results),
                         Path(args.out), args.data_dir, store_path)
    print(f"[report] {index} (tables and figures under {index.parent})", flush=True)
    return 0
