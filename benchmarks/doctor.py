"""Section doctor: `mlops-ladder doctor` on a level-2 render against a cold `copier copy`
of level 1, in alternating rounds (medians). Both run as a person runs them: one new
process each, doctor printing its JSON report, copier rendering into a new folder.

Alone: `uv run python -m benchmarks.doctor` (BENCH_QUICK=1 for one round).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.common import (
    PROJECT_NAME,
    Row,
    git_commit_all,
    log,
    median,
    render,
    run,
    snapshot_template,
    timed,
)

DOCTOR = str(Path(sys.executable).parent / "mlops-ladder")
LEVEL_1 = {"project_name": PROJECT_NAME, "mlops_level": "1"}
LEVEL_2 = {"project_name": PROJECT_NAME, "mlops_level": "2", "serving": "online"}


def bench(template: Path, work: Path, rounds: int) -> list[Row]:
    work.mkdir(parents=True)
    project = work / "level-2"
    run(render(template, project, LEVEL_2), work)
    git_commit_all(project, "rendered")
    doctor_times, copy_times = [], []
    for round_ in range(-1, rounds):  # round -1 warms caches and bytecode, untimed
        log(f"doctor round {round_ + 1}/{rounds}" if round_ >= 0 else "doctor warm-up")
        seconds = timed([DOCTOR, "doctor", "--format", "json", str(project)], work)
        copy = work / "copy"
        copied = timed(render(template, copy, LEVEL_1), work)
        shutil.rmtree(copy)
        if round_ >= 0:
            doctor_times.append(seconds)
            copy_times.append(copied)
    return [
        Row(
            "doctor",
            "doctor on a level-2 render",
            "s",
            median(doctor_times),
            [("cold copier copy of level 1", median(copy_times))],
            samples=doctor_times,
        )
    ]


def main() -> None:
    rounds = 1 if os.environ.get("BENCH_QUICK", "") not in ("", "0") else 7
    with tempfile.TemporaryDirectory(prefix="bench-doctor-") as scratch:
        work = Path(scratch)
        template = snapshot_template(work)
        (row,) = bench(template, work / "doctor", rounds)
        ((baseline_name, baseline),) = row.baselines
        print(
            f"{row.name}: median {row.value:.2f} s over {rounds} rounds; {baseline_name}: "
            f"median {baseline:.2f} s; ratio {row.value / baseline:.2f}"
        )


if __name__ == "__main__":
    main()
