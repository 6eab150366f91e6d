"""Section 2: time to the first tracked model in a level-1 project.

`make train` (make, `uv run`, the project's job) and the project's command alone are
compared with bare_train.py, all with the project's interpreter and each round in a
fresh SQLite store, so every run pays for creating the store like a first run does.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from benchmarks.common import BENCH, PACKAGE, Row, child_env, log, median, run, timed, uv

STORE = ("mlflow.db", "mlruns", "mlartifacts")
BARE = "bare script"
IMPORTED = ("mlflow", "sklearn", "pandas", "matplotlib")


def fresh_store(directory: Path) -> None:
    for name in STORE:
        path = directory / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def import_times(project: Path) -> dict[str, float]:
    """Cumulative import seconds of the train module and of its heaviest dependencies."""
    module = f"{PACKAGE}.train"
    command = [".venv/bin/python", "-X", "importtime", "-c", f"import {module}"]
    result = run(["sh", "-c", '"$@" 2>&1', "sh", *command], project)
    times: dict[str, float] = {}
    for line in result.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if match and match[3] in (module, *IMPORTED) and match[3] not in times:
            times[match[3]] = int(match[1]) / 1e6
    return times


def bench(project: Path, work: Path, rounds: int) -> list[Row]:
    work.mkdir(parents=True)
    commands = {
        "make train": (["make", "train", f"UV={uv()}"], project),
        f"{PACKAGE} train": ([".venv/bin/" + PACKAGE, "train"], project),
        BARE: ([str(project / ".venv/bin/python"), str(BENCH / "bare_train.py")], work),
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(-1, rounds):  # round -1 writes bytecode, untimed
        log(f"train round {round_ + 1}/{rounds}" if round_ >= 0 else "train warm-up")
        for name, (command, cwd) in commands.items():
            fresh_store(cwd)
            seconds = timed(command, cwd, child_env())
            if round_ >= 0:
                times[name].append(seconds)
    fresh_store(project)
    bare = median(times[BARE])
    make_train = median(times["make train"])
    rows = [
        Row("first model", f"`{name}`", "s", median(values), [(BARE, bare)], samples=values)
        for name, values in times.items()
        if name != BARE
    ]
    imports = import_times(project)
    rows += [
        Row(
            "first model",
            f"import {name}",
            "s",
            seconds,
            [("`make train`", make_train)],
            note="python -X importtime, cumulative; ratio = share of make train",
        )
        for name, seconds in imports.items()
    ]
    return rows
