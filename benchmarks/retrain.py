"""Section 6: continuous training's no-op, `make retrain` with nothing new to train on.

A level-4 batch project with a champion (`make repro`, untimed) retrains on tables that
its DATA_SOURCE names. Each round first points it at a table it has never trained on (its
data less a few last rows, one more each round), so `make retrain` snapshots, versions
and runs every stage from validate to register: a full retrain, the baseline. Then it
runs `make retrain` again on the same table: a new snapshot with the same hash, and
`Nothing new to train on`. Both include make, uv and the snapshot; the ratio is what the
no-op costs against the retraining it saves.
"""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.common import Row, child_env, log, median, run, uv

NOTHING_NEW = "Nothing new to train on"


def new_table(project: Path, work: Path, dropped: int) -> Path:
    """A labelled table the project has not trained on: its data less its last rows.

    Never one seen before: DVC's run cache would restore the outputs of a table it has
    seen, rather than run the stages again.
    """
    work.mkdir(parents=True, exist_ok=True)
    rows = (project / "data" / "raw" / "data.csv").read_text().splitlines()
    table = work / f"less-{dropped}.csv"
    table.write_text("\n".join(rows[:-dropped]) + "\n")
    return table


def timed_retrain(project: Path, source: Path, expected: str) -> float:
    """Seconds one `make retrain` on `source` took; its output must contain `expected`."""
    start = time.perf_counter()
    output = run(["make", "retrain", f"UV={uv()}"], project, child_env(DATA_SOURCE=str(source)))
    seconds = time.perf_counter() - start
    if expected not in output:
        raise RuntimeError(f"`make retrain` on {source.name} did not say {expected!r}:\n{output}")
    return seconds


def bench(project: Path, work: Path, rounds: int) -> list[Row]:
    full: list[float] = []
    nothing: list[float] = []
    for round_ in range(-1, rounds):  # round -1 warms caches and bytecode, untimed
        log(f"retrain round {round_ + 1}/{rounds}" if round_ >= 0 else "retrain warm-up")
        source = new_table(project, work, dropped=round_ + 2)
        retrained = timed_retrain(project, source, "Running stage 'register'")
        unchanged = timed_retrain(project, source, NOTHING_NEW)
        if round_ >= 0:
            full.append(retrained)
            nothing.append(unchanged)
    return [
        Row(
            "retrain",
            "`make retrain`, nothing new to train on (same data, code and params)",
            "s",
            median(nothing),
            [("full retrain on a new table, validate to register", median(full))],
            samples=nothing,
        )
    ]
