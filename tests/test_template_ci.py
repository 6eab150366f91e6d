"""The template's own CI workflow is valid and its level matrix comes from the code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from extensions.ladder import AVAILABLE_LEVELS
from tests.project import project_env

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def levels_step() -> dict[str, Any]:
    (step,) = [step for step in workflow()["jobs"]["levels"]["steps"] if step.get("id") == "levels"]
    return step


def test_workflow_matches_the_github_schema() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            str(WORKFLOW),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_levels_code_prints_the_ladder_levels() -> None:
    result = subprocess.run(
        [sys.executable, "-c", levels_step()["env"]["LEVELS_CODE"]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout) == sorted(AVAILABLE_LEVELS)


def test_levels_step_writes_the_matrix_output(tmp_path: Path) -> None:
    output = tmp_path / "github_output"
    step = levels_step()
    subprocess.run(
        ["bash", "-euo", "pipefail", "-c", step["run"]],
        cwd=ROOT,
        env={**project_env(), **step["env"], "GITHUB_OUTPUT": str(output)},
        check=True,
    )
    key, _, value = output.read_text(encoding="utf-8").strip().partition("=")
    assert key == "levels"
    assert json.loads(value) == sorted(AVAILABLE_LEVELS)


def test_level_jobs_use_the_computed_matrix() -> None:
    jobs = workflow()["jobs"]
    assert jobs["levels"]["outputs"]["levels"] == "${{ steps.levels.outputs.levels }}"
    level_job = next(job for job in jobs.values() if "levels" in _needs(job))
    matrix = level_job["strategy"]["matrix"]
    assert matrix["level"] == "${{ fromJSON(needs.levels.outputs.levels) }}"
    assert matrix["python-version"] == ["3.10", "3.11", "3.12", "3.13"]
    commands = " ".join(step.get("run", "") for step in level_job["steps"])
    assert 'PYTEST_ARGS="-k L${{ matrix.level }}"' in commands


def test_workflow_is_least_privilege_and_cancels_stale_runs() -> None:
    config = workflow()
    assert config["permissions"] == {"contents": "read"}
    assert config["concurrency"]["cancel-in-progress"] is True
    assert {"push", "pull_request"} <= set(config[True])  # YAML 1.1 reads `on` as True


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else needs
