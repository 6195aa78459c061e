"""The mutation score of the last `mutmut run` (make mutation), with the documented equivalent
mutants taken out.

    python tools/mutation_score.py [--fail-under 90] [--list survived|no-tests|timeout]
    python tools/mutation_score.py --draw N [--seed S]    # N mutant names drawn at random, to run
    python tools/mutation_score.py --sample N [--seed S]  # the score over that same draw only

Reads mutmut's per-file results (mutants/**/*.py.meta) and tools/mutation_equivalents.toml
(mutants that cannot change behaviour, each with the reason). Prints the raw score
killed / total and the score killed / (total - equivalent). A timeout (a mutant that made the
tests run past mutmut's limit, e.g. an endless loop) counts as killed and is shown apart.
An equivalent entry that is no longer a surviving mutant is reported as stale.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = ROOT / "tools" / "mutation_equivalents.toml"
DETECTED = {"killed", "timeout", "segfault"}


def statuses(mutants_dir: Path) -> dict[str, str]:
    """Mutant name -> mutmut's status word (killed, survived, no tests, timeout, ...)."""
    from mutmut.stats import status_by_exit_code

    found: dict[str, str] = {}
    for meta in sorted(mutants_dir.glob("gans/**/*.py.meta")):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            found[name] = status_by_exit_code[code]
    return found


def equivalents(path: Path = EQUIVALENTS) -> dict[str, str]:
    """Documented equivalent mutants: name -> why no test can tell it from the original."""
    return tomllib.loads(path.read_text()).get("equivalent", {}) if path.is_file() else {}


def drawn(names: list[str], n: int, seed: int = 0) -> list[str]:
    """A simple random sample of n mutant names, the same for the same mutants and seed."""
    return sorted(random.Random(seed).sample(sorted(names), min(n, len(names))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", default=str(ROOT / "mutants"), help="mutmut's mutants/ folder")
    parser.add_argument("--fail-under", type=float, default=None, help="exit 1 below this score (%%)")
    parser.add_argument("--list", choices=["survived", "no-tests", "timeout"], default=None,
                        help="also print the mutants of this status (not the documented equivalents)")
    parser.add_argument("--draw", type=int, default=None, metavar="N",
                        help="print N mutant names drawn at random and exit")
    parser.add_argument("--sample", type=int, default=None, metavar="N",
                        help="score only the N mutants --draw N names (an estimate of the full score)")
    parser.add_argument("--seed", type=int, default=0, help="the random draw's seed")
    args = parser.parse_args(argv)
    found = statuses(Path(args.mutants))
    if not found:
        print("no mutmut results: run `make mutation` first", file=sys.stderr)
        return 1
    if args.draw is not None:
        print("\n".join(drawn(list(found), args.draw, args.seed)))
        return 0
    documented = equivalents()
    stale = sorted(name for name in documented if found.get(name) != "survived")
    if args.sample is not None:
        found = {name: found[name] for name in drawn(list(found), args.sample, args.seed)}
        print(f"a random sample of {len(found)} mutants (seed {args.seed})")
    counts = Counter(found.values())
    equivalent = {name for name in documented if found.get(name) == "survived"}
    total, killed = len(found), sum(counts[s] for s in DETECTED)
    raw = 100.0 * killed / total
    score = 100.0 * killed / (total - len(equivalent))
    print("mutants: " + ", ".join(f"{status} {n}" for status, n in counts.most_common()) + f" (total {total})")
    if counts["not checked"]:
        print(f"warning: {counts['not checked']} mutants were not run: the run is incomplete")
    print(f"raw score: {killed} killed (timeouts {counts['timeout']}) / {total} = {raw:.2f}%")
    print(f"score: {killed} / ({total} - {len(equivalent)} documented equivalent) = {score:.2f}%")
    for name in stale:
        print(f"stale equivalent entry (not a surviving mutant now): {name}")
    if args.list:
        wanted = args.list.replace("-", " ")
        for name in sorted(n for n, s in found.items() if s == wanted and n not in equivalent):
            print(f"{wanted}: {name}")
    return 1 if args.fail_under is not None and score < args.fail_under else 0


if __name__ == "__main__":
    sys.exit(main())
