"""How many ``DeadlineEngine.compute()`` calls per second, for a mix of rules.

Calendar-day, working-day and month rules over triggers spread across 2024–2026 (Spring
Festival, National Day, make-up Saturdays) and into 2027, which the calendar data does not
cover (provisional results). Not a test: it prints figures.

    python benchmarks/deadlines.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cases.law.deadline_rules import DeadlineEngine

MIX = ("F5", "F9", "F10", "F12", "X4", "L3", "F15", "LP1", "L8", "F3")
"""5/7/10 WD, 60/60/15/15 CD, 6 M, 6 M, 5 years."""


def triggers() -> list[date]:
    start = date(2024, 1, 1)
    covered = [start + timedelta(days=i * 7) for i in range(156)]  # weekly over 2024–2026
    late = [date(2026, 12, 1) + timedelta(days=i) for i in range(0, 60, 3)]  # into 2027
    return covered + late


def run(seconds: float) -> None:
    compute = DeadlineEngine().compute  # load the calendar outside the timing
    days = triggers()
    cases = [(rule_id, day, i % 4 == 0) for i, day in enumerate(days) for rule_id in MIX]
    provisional = sum(compute(r, d, simplified=s).provisional for r, d, s in cases)

    calls = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for rule_id, day, simplified in cases:
            compute(rule_id, day, simplified=simplified)
        calls += len(cases)
    elapsed = time.perf_counter() - started

    print(f"compute() mix: {len(MIX)} rules x {len(days)} triggers ({provisional} provisional)")
    print(f"compute() calls per second: {calls / elapsed:,.0f}")
    print(f"mean per call: {elapsed / calls * 1e6:.1f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0)
    run(parser.parse_args().seconds)


if __name__ == "__main__":
    main()
