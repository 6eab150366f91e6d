"""Section 3: installed size and package count of each level's environment.

The baseline is a venv with only `mlflow` at the version the projects lock, which
already brings scikit-learn, pandas and matplotlib. Sizes are taken before any
bytecode is written, so every environment is measured in the same state.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from benchmarks.common import Row, run, uv

BASELINE = "venv with only mlflow"
SUITE_BUDGET = 900.0  # DESIGN.md: the whole suite fits in 15 minutes on 2 cores


def measure(venv: Path) -> tuple[float, int]:
    """Apparent size in MB of `venv` and the number of packages installed in it."""
    size = int(run(["du", "-sb", str(venv)], venv.parent).split()[0]) / 1e6
    listed = run(
        [uv(), "pip", "list", "--python", str(venv / "bin" / "python"), "--format", "json"],
        venv.parent,
    )
    return size, len(json.loads(listed))


def baseline_venv(project: Path, work: Path) -> Path:
    """A venv with the mlflow version that `project` installed, and nothing else."""
    version = run(
        [".venv/bin/python", "-c", "import importlib.metadata as m; print(m.version('mlflow'))"],
        project,
    ).strip()
    venv = work / "mlflow-only" / ".venv"
    run([uv(), "venv", "--quiet", str(venv)], project)
    run(
        [
            uv(),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            f"mlflow=={version}",
        ],
        project,
    )
    return venv


def rows(environments: dict[str, tuple[float, int]], baseline: tuple[float, int]) -> list[Row]:
    found = []
    for name, (size, count) in environments.items():
        found.append(Row("footprint", f".venv size, {name}", "MB", size, [(BASELINE, baseline[0])]))
        found.append(Row("footprint", f"packages, {name}", "", count, [(BASELINE, baseline[1])]))
    suite = os.environ.get("BENCH_TEST_SUITE_SECONDS")
    found.append(
        Row(
            "footprint",
            "template test suite (`make test`)",
            "s",
            float(suite) if suite else None,
            [("15-minute budget", SUITE_BUDGET)],
            note="measured elsewhere" if suite else "set BENCH_TEST_SUITE_SECONDS to include",
        )
    )
    return found
