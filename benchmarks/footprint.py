"""Section 3: installed size and package count of each level's environment.

The baseline is a venv with only `mlflow` at the version the projects lock, which
already brings scikit-learn, pandas and matplotlib. Sizes are taken before any
bytecode is written, so every environment is measured in the same state.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from benchmarks.common import Row, run, uv

BASELINE = "venv with only mlflow"
SUITE_BUDGET = 900.0  # DESIGN.md: the whole suite fits in 15 minutes on 2 cores
SUITE_SECONDS = Path(__file__).resolve().parents[1] / ".bench" / "suite-seconds"


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
    found.append(suite_row())
    return found


def suite_row() -> Row:
    """The wall time of the last green `make test` on this machine (make writes it)."""
    if SUITE_SECONDS.exists():
        seconds = float(SUITE_SECONDS.read_text())
        when = time.localtime(SUITE_SECONDS.stat().st_mtime)
        note = f"last green `make test`, {time.strftime('%Y-%m-%d %H:%M', when)}"
    else:
        seconds, note = None, "run `make test` first"
    return Row(
        "footprint",
        "template test suite (`make test`)",
        "s",
        seconds,
        [("15-minute budget", SUITE_BUDGET)],
        note=note,
    )
