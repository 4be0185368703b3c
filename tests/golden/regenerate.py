"""Rewrite the golden outputs from the current fast reader: only on purpose, then review the diff.

    .venv/bin/python -m tests.golden.regenerate          # rewrite every expected file
    .venv/bin/python -m tests.golden.regenerate --check  # exit 1 if any would change (writes nothing)

`git diff tests/golden/expected` then shows every row that a change of code moved; commit it only
once each difference is meant.
"""

from __future__ import annotations

import argparse
import sys

from tests.golden.golden import EXPECTED, goldens, read_fast, render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.golden.regenerate", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report the files that would change")
    args = parser.parse_args(argv)
    wanted = {g.expected for g in goldens()}
    changed = []
    for golden in goldens():
        text = render(read_fast(golden))
        if not golden.expected.exists() or golden.expected.read_text() != text:
            changed.append(golden.expected)
            if not args.check:
                golden.expected.parent.mkdir(parents=True, exist_ok=True)
                golden.expected.write_text(text)
    stale = [p for p in EXPECTED.rglob("*.expected.jsonl") if p not in wanted]  # inputs that are gone
    for path in stale:
        if not args.check:
            path.unlink()
    for path in changed + stale:
        print(path.relative_to(EXPECTED.parent), file=sys.stderr)
    print(f"{len(changed)} changed, {len(stale)} removed, of {len(wanted)}", file=sys.stderr)
    return 1 if args.check and (changed or stale) else 0


if __name__ == "__main__":
    sys.exit(main())
