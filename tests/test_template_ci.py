"""The template's own CI workflow is valid and its matrix comes from the code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from extensions.ladder import BUILT_LEVELS, SUPPORTED_PYTHONS
from harness.project import check_jsonschema, project_env

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def ladder_step() -> dict[str, Any]:
    (step,) = [step for step in workflow()["jobs"]["ladder"]["steps"] if step.get("id") == "ladder"]
    return step


def test_workflow_matches_the_github_schema() -> None:
    check_jsonschema(WORKFLOW, "vendor.github-workflows")


def test_ladder_step_writes_the_levels_and_pythons(tmp_path: Path) -> None:
    output = tmp_path / "github_output"
    step = ladder_step()
    script = step["run"].replace("uv run --only-group template python", sys.executable)
    subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,
        env={**project_env(), **step["env"], "GITHUB_OUTPUT": str(output)},
        check=True,
    )
    written = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert json.loads(written["levels"]) == sorted(BUILT_LEVELS)
    assert json.loads(written["pythons"]) == list(SUPPORTED_PYTHONS)


def test_level_jobs_use_the_computed_matrix() -> None:
    jobs = workflow()["jobs"]
    outputs = jobs["ladder"]["outputs"]
    assert outputs["levels"] == "${{ steps.ladder.outputs.levels }}"
    assert outputs["pythons"] == "${{ steps.ladder.outputs.pythons }}"
    level_job = next(job for job in jobs.values() if "ladder" in _needs(job))
    matrix = level_job["strategy"]["matrix"]
    assert matrix["level"] == "${{ fromJSON(needs.ladder.outputs.levels) }}"
    assert matrix["python-version"] == "${{ fromJSON(needs.ladder.outputs.pythons) }}"
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


def test_workflow_is_actionlint_clean() -> None:
    actionlint = Path(sys.executable).parent / "actionlint"
    result = subprocess.run([str(actionlint), str(WORKFLOW)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_job_builds_and_serves_a_rendered_level_3_project() -> None:
    steps = " ".join(step.get("run", "") for step in workflow()["jobs"]["image"]["steps"])
    assert "--data mlops_level=3 --data serving=online" in steps
    assert "docker build" in steps and "/predict" in steps and "State.Health.Status" in steps
