"""Shared helpers: the environment of child processes, timing, projects and result rows."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
COPIER = str(Path(sys.executable).parent / "copier")
PROJECT_NAME, PACKAGE, MODEL_NAME = "Bench Project", "bench_project", "bench-project"
# Variables of the caller's environment that would change what a child process does.
LEAKY = (
    "VIRTUAL_ENV",
    "UV_PROJECT_ENVIRONMENT",
    "MLFLOW_TRACKING_URI",
    "PYTHONDONTWRITEBYTECODE",
)


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        raise SystemExit("uv is needed; run the benchmarks with `make bench`")
    return found


def child_env(**extra: str) -> dict[str, str]:
    """The environment of every measured process: bytecode caching on, no leaked settings."""
    env = {key: value for key, value in os.environ.items() if key not in LEAKY}
    env.update(
        UV=uv(),
        UV_PYTHON=f"{sys.version_info.major}.{sys.version_info.minor}",
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="1",
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@example.com",
    )
    env.update(extra)
    return env


def run(command: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command; on failure, stop with its whole output."""
    result = subprocess.run(
        list(command),
        cwd=cwd,
        env=env or child_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"`{' '.join(command)}` exited {result.returncode} in {cwd}\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result.stdout


def timed(command: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    """Wall time in seconds of one successful run of `command`."""
    start = time.perf_counter()
    run(command, cwd, env)
    return time.perf_counter() - start


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def git_commit_all(path: Path, message: str) -> None:
    if not (path / ".git").exists():
        run(["git", "init", "--quiet", "--initial-branch=main"], path)
    run(["git", "add", "--all"], path)
    run(["git", "commit", "--quiet", "--no-verify", "-m", message], path)


def snapshot_template(work: Path) -> Path:
    """This template's working tree (tracked and new files) committed into a clean repo.

    Copier includes a dirty local template by committing it in a temporary copy on every
    run; rendering from a clean snapshot keeps that cost out of the figures.
    """
    listed = run(["git", "ls-files", "-co", "--exclude-standard", "-z"], ROOT)
    snapshot = work / "template-snapshot"
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / name)
    git_commit_all(snapshot, "snapshot")
    return snapshot


def copier_data(answers: dict[str, str]) -> list[str]:
    return [part for key, value in answers.items() for part in ("--data", f"{key}={value}")]


def render(template: Path, dst: Path, answers: dict[str, str]) -> list[str]:
    """The `copier copy` command that renders `template` into `dst` with `answers`."""
    flags = ["copy", "--trust", "--defaults", "--quiet", "--vcs-ref", "HEAD"]
    return [COPIER, *flags, *copier_data(answers), str(template), str(dst)]


def setup_project(template: Path, dst: Path, answers: dict[str, str]) -> Path:
    """Render a project named PROJECT_NAME and run its `make setup` (untimed)."""
    run(render(template, dst, {"project_name": PROJECT_NAME, **answers}), dst.parent)
    run(["make", "setup", f"UV={uv()}"], dst)
    return dst


@dataclass
class Row:
    """One line of the results table: a median and the baselines it is compared with."""

    section: str
    name: str
    unit: str
    value: float | None
    baselines: list[tuple[str, float | None]] = field(default_factory=list)
    note: str = ""
    samples: list[float] = field(default_factory=list)

    def ratios(self) -> list[float | None]:
        return [
            self.value / base if self.value is not None and base else None
            for _, base in self.baselines
        ]
