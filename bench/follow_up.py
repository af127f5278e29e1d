"""One follow-up pass over N open items across C challenges, against plainly reading the
same rows; and the desk read for a person with 500 items.

    python -m bench.follow_up [--items 100000] [--challenges 1000] [--desk 500]

The follow-up rows are folded by the projection's own handlers from synthetic events
(ideas submitted over 60 days, so about half are past their decision date), stored in
the SQLite read-model store, and read back:
- plain read: load the rows from the store and look at every item's challenge and since;
- pass: load the rows and decide (projections/follow_up_due.plan, closings) with every
  step due so far already recorded (the steady state: a pass finds what became due since
  the last one) — and, for reference, the first pass that plans every step.
Recording the steps a pass plans is one command each (bench.commands measures those).
Target: the pass at >= 50 % of the plain read; the desk read's p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from uuid import uuid4

from groundswell.readstore.sqlite import SQLiteReadModelStore
from projections import desk as desk_rm
from projections import follow_up as follow_up_rm
from projections.follow_up_due import closings, plan
from projections.rows import Rows, key_of

START = datetime(2027, 1, 1, tzinfo=UTC)
NOW = START + timedelta(days=60)
TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0


def event(**fields: object) -> SimpleNamespace:
    return SimpleNamespace(event_id=uuid4(), **fields)


def follow_up_rows(items: int, challenges: int) -> Rows:
    rows = Rows(track_changes=False)
    ids = [uuid4() for _ in range(challenges)]
    for n, challenge in enumerate(ids):
        rows.put(
            "challenges",
            key_of(challenge),
            {"title": f"C{n}", "decision_deadline_days": 30, "managers": [f"m{n}", f"k{n}"]},
        )
    for n in range(items):
        at = START + timedelta(minutes=n * 60 * 24 * 60 // items)
        submitted = event(
            originator_id=uuid4(), challenge_id=ids[n % challenges], timestamp=at,
            title=f"idea {n}", author=f"p{n % 5000}",
        )  # fmt: skip
        follow_up_rm._idea_submitted(rows, submitted)
    return rows


def record(rows: Rows, now: datetime) -> int:
    """Mark every step planned by ``now`` as recorded, as the FollowUp events would."""
    planned = plan(rows, now)
    for step in planned:
        rows.touch("items", step.item_key).setdefault("steps", {})[step.step] = {
            "at": now.isoformat(),
            "to": step.to,
        }
    return len(planned)


def desk_rows(mine: int, others: int) -> Rows:
    rows = Rows(track_changes=False)
    challenge = uuid4()
    rows.put("challenges", key_of(challenge), {"title": "C", "managers": ["mia", "kai"]})
    rows.row("challenges", key_of(challenge), dict)["decision_deadline_days"] = 30
    for n in range(mine + others):
        # mia leads the first challenge; the others' ideas wait on other people
        lead = "mia" if n < mine else f"x{n % 100}"
        idea = uuid4()
        at = START + timedelta(minutes=n)
        desk_rm._submitted(
            rows,
            event(originator_id=idea, challenge_id=challenge, timestamp=at, title=f"I{n}",
                  author="ann"),
        )  # fmt: skip
        desk_rm._review_started(rows, event(originator_id=idea, actor=lead, timestamp=at))
    return rows


def timed(work: object, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--challenges", type=int, default=1_000)
    parser.add_argument("--desk", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    rows = follow_up_rows(args.items, args.challenges)
    first_steps = len(plan(rows, NOW))
    first_seconds = timed(lambda: plan(rows, NOW), 1)
    record(rows, NOW - timedelta(hours=1))
    store = SQLiteReadModelStore(Path(tempfile.mkdtemp(prefix="groundswell-bench-")))
    store.replace("follow_up", rows, 1, follow_up_rm.FollowUpProjection.version)

    def plain() -> None:
        loaded = store.load("follow_up")[0]
        challenges = loaded.table("challenges")
        for item in loaded.table("items").values():
            challenges.get(item["challenge_id"])
            datetime.fromisoformat(item["since"])

    steady: list[int] = []

    def one_pass() -> None:
        loaded = store.load("follow_up")[0]
        steady.append(len(plan(loaded, NOW)))
        closings(loaded)

    plain_seconds = timed(plain, args.repeat)
    pass_seconds = timed(one_pass, args.repeat)

    mine = desk_rows(args.desk, args.desk * 20)
    assert len(desk_rm.desk(mine, "mia", NOW)) == args.desk
    reads = []
    for _ in range(300):
        started = time.perf_counter()
        desk_rm.desk(mine, "mia", NOW)
        reads.append((time.perf_counter() - started) * 1000)
    reads.sort()
    p99 = reads[int(len(reads) * 0.99) - 1]
    figures = {
        "items": args.items,
        "challenges": args.challenges,
        "plain_read_items_per_s": args.items / plain_seconds,
        "pass_items_per_s": args.items / pass_seconds,
        "ratio": plain_seconds / pass_seconds,
        "steady_pass_new_steps": steady[-1],
        "first_pass_steps": first_steps,
        "first_pass_plan_seconds": first_seconds,
        "desk_items": args.desk,
        "desk_read_ms": {"p50": statistics.median(reads), "p99": p99},
        "target_ratio": TARGET_RATIO,
        "target_desk_p99_ms": TARGET_P99_MS,
    }
    print(
        f"plain read {figures['plain_read_items_per_s']:,.0f} items/s, follow-up pass "
        f"{figures['pass_items_per_s']:,.0f} items/s (ratio {figures['ratio']:.2f}; "
        f"{steady[-1]} new steps); first pass planned {first_steps:,} steps in "
        f"{first_seconds:.2f} s; desk of {args.desk}: p50 {statistics.median(reads):.2f} ms, "
        f"p99 {p99:.2f} ms"
    )
    print(json.dumps(figures))
    store_close = getattr(store, "close", None)
    if store_close is not None:
        store_close()


if __name__ == "__main__":
    main()
