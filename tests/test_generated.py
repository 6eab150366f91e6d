"""Each variant, rendered and set up for real: its own lint, tests and jobs pass.

The checks are grouped by the feature they exercise, and each variant's test class is
composed of the groups for the features it has (TestL1, TestL2_online, ...). The
project is rendered and installed once per class (a class-scoped fixture); every check
then sets up what it needs itself, through fixtures or in a scratch workspace with an
MLflow store of its own, so any one check runs alone and in any order.
`--dist loadscope` keeps a class on one xdist worker.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from extensions.ladder import FEATURES, next_level
from tests.cluster import (
    AUDIT_EVENTS,
    SEED_CHAMPION,
    WorkflowJob,
    host_path,
    mlflow_server,
    pod_spec,
    start_in_pod,
)
from tests.dockerfile import instructions, read_image
from tests.matrix import Variant, expected_targets, variants
from tests.monitoring import CONTRACT, PUSHED, contract_names, metric_names, pushed_names
from tests.project import (
    Project,
    check_jsonschema,
    free_port,
    get_json,
    get_text,
    post_json,
    render,
    serve,
)
from tests.prometheus import missing_tools as prometheus_tools_missing
from tests.prometheus import prometheus, pushgateway, wait_for

pytestmark = pytest.mark.slow

CHECK_RUN = """
import json, sys, mlflow
from mlflow.tracking import MlflowClient
mlflow.set_tracking_uri("sqlite:///mlflow.db")
run = mlflow.get_run(sys.argv[1])
model = mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/model")
artifacts = [item.path for item in MlflowClient().list_artifacts(run.info.run_id, "plots")]
print(json.dumps({
    "experiment": mlflow.get_experiment(run.info.experiment_id).name,
    "params": run.data.params,
    "metrics": run.data.metrics,
    "plots": sorted(artifacts),
    "model": type(model).__name__,
}))
"""
DRIFT_RUN = """
import json, mlflow
mlflow.set_tracking_uri("sqlite:///mlflow.db")
(run,) = mlflow.search_runs(
    search_all_experiments=True, filter_string="attributes.run_name = 'drift'",
    order_by=["attributes.start_time DESC"], max_results=1, output_format="list",
)
artifacts = [item.path for item in mlflow.MlflowClient().list_artifacts(run.info.run_id, "drift")]
print(json.dumps({"drifted": run.data.metrics["drifted"], "artifacts": artifacts}))
"""
VERSION_TAGS = """
import json, sys, mlflow
from {package}.config import MODEL_NAME
mlflow.set_tracking_uri("sqlite:///mlflow.db")
print(json.dumps(mlflow.MlflowClient().get_model_version(MODEL_NAME, sys.argv[1]).tags))
"""
ALIASES = """
import json, mlflow
from {package}.config import MODEL_NAME
mlflow.set_tracking_uri("sqlite:///mlflow.db")
model = mlflow.MlflowClient().get_registered_model(MODEL_NAME)
print(json.dumps({{alias: str(version) for alias, version in model.aliases.items()}}))
"""
# A pytest plugin that runs the collected tests in reverse order.
REVERSE_ORDER = """
def pytest_collection_modifyitems(items):
    items.reverse()
"""
# What the jobs of a feature write that the team commits: the records of the work.
RECORDS = {
    "audit": r"audit/trail\.jsonl",
    "model_card": r"reports/model_cards/[\w-]+-v\d+\.md",
    "dvc": r"dvc\.lock|data/raw/(data\.csv\.dvc|\.gitignore)",
}
REGISTERED = re.compile(r"Registered version (\d+) of \S+ as (champion|challenger)")
TRAINED = re.compile(r"Trained and tracked run (\w+)")


def registered(output: str) -> tuple[str, str]:
    """(version, role) from a registration's output line."""
    match = REGISTERED.search(output)
    assert match, output
    return match.group(1), match.group(2)


def once_per_level(test):
    """Mark a check whose code path is the same for every answer at a level.

    Stages, the registry, the audit trail and the drift check run the same code whatever
    `serving`, `data_remote` or `orchestrator` say, so such a check runs in one variant
    per level (the level's first in the matrix) instead of in each.
    """
    test.once_per_level = True
    return test


class RenderedProject:
    """The variant's project, rendered, committed and set up once for its class."""

    variant: Variant

    @pytest.fixture(scope="class")
    @classmethod
    def project(cls, template, tmp_path_factory) -> Project:
        path = tmp_path_factory.mktemp(cls.variant.id) / "project"
        generated = render(template, path, **cls.variant.answers)
        generated.git_commit_all("Render the template")
        generated.make("setup")
        return generated


class ProjectChecks(RenderedProject):
    """What every project does, whatever its level."""

    @pytest.fixture(scope="class")
    @classmethod
    def trained(cls, project) -> str:
        """The id of a run that `make train` tracked."""
        match = TRAINED.search(project.make("train"))
        assert match
        return match.group(1)

    @pytest.fixture(scope="class")
    @classmethod
    def scoring_model(cls, trained) -> None:
        """The model `make predict` scores with is there."""

    def test_lint_and_own_tests_pass_in_reverse_order(self, project, tmp_path):
        """`make lint test`, the tests in reverse order: none leans on another's leftovers."""
        (tmp_path / "reverse_order.py").write_text(REVERSE_ORDER)
        project.make("lint")
        reversed_run = {"PYTHONPATH": str(tmp_path), "PYTEST_ADDOPTS": "-p reverse_order"}
        output = project.run("make", "test", env=reversed_run)
        assert " passed" in output and "failed" not in output

    def test_make_help_lists_the_jobs_of_its_features(self, project):
        listed = set(re.findall(r"^  ([a-z-]+) ", project.make("help"), re.MULTILINE))
        assert listed == expected_targets(self.variant.has, self.variant.level)

    def test_preview_level_shows_the_next_level_and_changes_nothing(self, project):
        following = next_level(self.variant.level)
        if following is None:
            assert "preview-level" not in project.make("help")
            return
        before = project.run("git", "status", "--porcelain")
        shown = project.make("preview-level", LEVEL=str(following))
        assert f"Level {following} adds (A) and changes (M) these files:" in shown
        assert re.search(r"^  M +\.copier-answers\.yml$", shown, re.MULTILINE)
        assert re.search(r"^  A +\S", shown, re.MULTILINE)
        assert "and these make targets:\n  make " in shown
        assert re.search(r"^dependencies \(pyproject\.toml\):\n  [a-z]", shown, re.MULTILINE)
        assert re.search(rf"^  mlops_level: {following}$", shown, re.MULTILINE)
        refused = project.make("preview-level", check=False, LEVEL=str(self.variant.level))
        assert f"LEVEL must be a level above this project's {self.variant.level}: " in refused
        assert project.run("git", "status", "--porcelain") == before
        assert not (project.path / ".preview").exists()

    def test_environment_runs_the_chosen_python(self, project):
        version = project.run(".venv/bin/python", "--version").split()[1]
        assert version.startswith(self.variant.identity["python_version"] + ".")
        pyproject = (project.path / "pyproject.toml").read_text()
        assert f'requires-python = ">={self.variant.identity["python_version"]}"' in pyproject

    def test_train_tracks_a_run_with_params_metrics_plots_and_model(self, project, trained):
        run = project.python(CHECK_RUN, trained)
        assert run["experiment"] == self.variant.identity["project_name"]
        expected_params = {"data.test_size", "data.random_state", "model.C", "model.max_iter"}
        assert expected_params <= set(run["params"])
        assert {"accuracy", "precision", "recall", "f1", "roc_auc"} <= set(run["metrics"])
        assert run["metrics"]["roc_auc"] > 0.95
        assert run["plots"] == ["plots/confusion_matrix.png", "plots/roc_curve.png"]
        assert run["model"] == "Pipeline"

    def test_predict_writes_predictions_and_leaves_the_work_tree_clean(
        self, project, scoring_model
    ):
        """Outputs (the MLflow store, outputs/, predictions) are ignored: what is new is
        uv.lock and the records a team commits (audit trail, model cards, DVC files)."""
        project.make("predict")
        lines = (project.path / "predictions.csv").read_text().splitlines()
        assert lines[0].split(",")[-2:] == ["prediction", "probability"]
        assert len(lines) == 1 + 20
        status = project.run("git", "status", "--porcelain", "--untracked-files=all")
        allowed = ["uv.lock", *(RECORDS[name] for name in self.variant.has if name in RECORDS)]
        for line in status.splitlines():
            assert any(re.fullmatch(pattern, line[3:]) for pattern in allowed), status

    def test_formatter_changes_nothing(self, project):
        project.run(".venv/bin/ruff", "format", ".")
        assert project.run("git", "diff", "--stat") == ""


class PipelineChecks:
    """The prepare, train and evaluate stages, each alone in its own process."""

    @once_per_level
    def test_stages_hand_over_through_files_and_the_gate_decides(self, project, tmp_path):
        workspace = project.workspace(tmp_path / "work")
        outputs = workspace.path / "outputs"
        assert "data/prepared/train.csv" in workspace.job("prepare")
        run_id = TRAINED.search(workspace.job("train")).group(1)
        assert json.loads((outputs / "train.json").read_text())["run_id"] == run_id
        assert "Gate passed: accuracy" in workspace.job("evaluate")
        evaluation = json.loads((outputs / "evaluate.json").read_text())
        assert evaluation["run_id"] == run_id and evaluation["passed"] is True

        missing = workspace.job("evaluate", "--run-id", "nosuchrun", check=False)
        assert "error: No run 'nosuchrun'" in missing and "Traceback" not in missing

        refused = workspace.job("evaluate", params=strict_params(project, tmp_path), check=False)
        assert "failed the evaluation gate: roc_auc = 0." in refused
        assert "is below the threshold 0.9999" in refused and "Traceback" not in refused
        assert json.loads((outputs / "evaluate.json").read_text())["passed"] is False


def strict_params(project: Project, folder: Path) -> Path:
    """A copy of the project's params.yaml with a gate no model passes."""
    params = yaml.safe_load((project.path / "params.yaml").read_text())
    params["gate"]["thresholds"]["roc_auc"] = 0.9999
    strict = folder / "strict.yaml"
    strict.write_text(yaml.safe_dump(params))
    return strict


class RegistryChecks:
    """Registering gated models, the champion and challenger aliases, `make pipeline`."""

    @pytest.fixture(scope="class")
    @classmethod
    def champion(cls, project) -> str:
        """The champion after `make pipeline` (the version it registered, or an equal one)."""
        version, role = registered(project.make("pipeline"))
        aliases = project.python(ALIASES.format(package=project.package))
        assert aliases[role] == version
        return aliases["champion"]

    @pytest.fixture(scope="class")
    @classmethod
    def scoring_model(cls, champion) -> None:
        """`make predict` scores with the champion."""

    def test_pipeline_registers_a_champion(self, project, champion):
        aliases = project.python(ALIASES.format(package=project.package))
        assert aliases["champion"] == champion

    @once_per_level
    def test_stages_register_move_the_aliases_and_stop_at_the_gate(self, project, tmp_path):
        workspace = project.workspace(tmp_path / "work")
        assert registered(workspace.job("pipeline")) == ("1", "champion")
        for stage in ("train", "evaluate"):
            workspace.job(stage)
        assert registered(workspace.job("register")) == ("2", "challenger")

        refused = workspace.job("pipeline", params=strict_params(project, tmp_path), check=False)
        assert "failed the evaluation gate" in refused and "Registered" not in refused
        aliases = workspace.python("-c", ALIASES.format(package=project.package))
        assert json.loads(aliases.splitlines()[-1]) == {"champion": "1", "challenger": "2"}


def tool(name: str) -> str:
    """A linter installed in the template's own environment (hadolint, actionlint)."""
    return str(Path(sys.executable).parent / name)


def actionlint(project_path: Path) -> None:
    """actionlint over every workflow of the project (it finds .github/workflows itself)."""
    result = subprocess.run([tool("actionlint")], cwd=project_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def step_script(workflow: Path, job: str, step: str) -> list[str]:
    """The command that runs step `step` of `job` as a runner does (`bash -e`)."""
    steps = yaml.safe_load(workflow.read_text())["jobs"][job]["steps"]
    (found,) = [item for item in steps if item.get("name") == step]
    return ["bash", "--noprofile", "--norc", "-e", "-c", found["run"]]


class CIChecks:
    """The GitHub Actions workflow and the pre-commit hooks."""

    def test_ci_workflow_is_valid_and_actionlint_clean(self, project):
        workflow = project.path / ".github" / "workflows" / "ci.yml"
        check_jsonschema(workflow, "vendor.github-workflows")
        actionlint(project.path)

    def test_pre_commit_hooks_pass_on_the_rendered_project(self, project):
        project.run(".venv/bin/pre-commit", "validate-config")
        project.run(".venv/bin/pre-commit", "run", "--all-files")


# A model.py a team might write instead of the example's: a derived column, columns
# picked by name, and a tree ensemble (no scaler the fast path knows).
OTHER_MODEL = '''"""Our model: a derived ratio and gradient-boosted trees."""

from typing import Any

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer


def add_features(features: pd.DataFrame) -> pd.DataFrame:
    return features.assign(radius_to_texture=features["mean_radius"] / features["mean_texture"])


def build_model(params: dict[str, Any]) -> Pipeline:
    keep = ["radius_to_texture", "worst_radius", "worst_concave_points", "mean_texture"]
    return Pipeline(
        [
            ("features", FunctionTransformer(add_features)),
            ("columns", ColumnTransformer([("keep", "passthrough", keep)])),
            ("classifier", HistGradientBoostingClassifier(max_iter=50, random_state=0)),
        ]
    )
'''
# Writes 100 rows as a request body and what mlflow.pyfunc predicts for them.
PYFUNC_ANSWER = """
import json, mlflow
from {package}.config import MODEL_NAME
from {package}.data import TARGET, load_dataset
mlflow.set_tracking_uri("sqlite:///mlflow.db")
rows = load_dataset().drop(columns=[TARGET]).sample(100, random_state=1)
model = mlflow.pyfunc.load_model(f"models:/{{MODEL_NAME}}@champion")
print(json.dumps({{
    "request": {{"instances": rows.to_dict(orient="records")}},
    "predictions": model.predict(rows).tolist(),
}}))
"""


class OnlineChecks:
    """The FastAPI service started with `make serve`."""

    def test_make_serve_answers_on_the_configured_port(self, project, champion):
        with project.serving() as url:
            assert get_json(f"{url}/health") == (200, {"status": "ok"})
            status, ready = get_json(f"{url}/ready")
            assert status == 200 and ready["model_version"] == champion
            example = (project.path / "examples" / "request.json").read_bytes()
            status, answer = post_json(f"{url}/predict", example)
            assert status == 200 and answer["predictions"] in ([0], [1])
            status, refused = post_json(f"{url}/predict", b'{"instances": [{"mean_radius": "x"}]}')
            assert status == 422 and "mean_radius" in json.dumps(refused)
            assert get_json(f"{url}/health")[0] == 200, "a refused request leaves the service up"

    def test_the_service_serves_whatever_model_the_team_builds(self, project, tmp_path: Path):
        workspace = project.workspace(tmp_path)
        (workspace.copy_source() / "model.py").write_text(OTHER_MODEL)
        workspace.job("pipeline")
        expected = json.loads(
            workspace.python("-c", PYFUNC_ANSWER.format(package=project.package)).splitlines()[-1]
        )
        with workspace.serving() as url:
            status, answer = post_json(f"{url}/predict", json.dumps(expected["request"]).encode())
        assert status == 200
        assert answer["predictions"] == expected["predictions"]
        assert set(expected["predictions"]) == {0, 1}


class DvcChecks:
    """The DVC pipeline: `make repro` runs every stage, then nothing until an input changes."""

    @pytest.fixture(scope="class")
    @classmethod
    def reproduced(cls, project) -> dict[str, str]:
        """`make repro` run once: its output, the commit it ran on, the version it registered."""
        head = project.run("git", "rev-parse", "HEAD").strip()
        output = project.make("repro")
        return {"output": output, "commit": head, "version": registered(output)[0]}

    def test_repro_runs_every_stage_then_nothing(self, project, reproduced):
        stages = yaml.safe_load((project.path / "dvc.yaml").read_text())["stages"]
        for stage in stages:
            assert f"Running stage '{stage}'" in reproduced["output"], stage
        assert (project.path / "data" / "raw" / "data.csv.dvc").is_file()
        again = project.make("repro")
        assert "Data and pipelines are up to date." in again
        assert "Running stage" not in again


class LocalRemoteChecks:
    """The local DVC remote: data pushed from one clone is pulled, byte for byte, into another."""

    def test_push_then_pull_into_a_fresh_clone_restores_the_data(self, project, reproduced):
        project.make("push")
        project.git_commit_all("Version the data and the pipeline")
        clone = project.path.parent / "clone"
        project.run("git", "clone", "--quiet", str(project.path), str(clone))
        dvc = str(project.path / ".venv" / "bin" / "dvc")
        pulled = subprocess.run(
            [dvc, "pull"], cwd=clone, env=project.env(), capture_output=True, text=True
        )
        assert pulled.returncode == 0, pulled.stdout + pulled.stderr
        for path in ("data/raw/data.csv", "data/prepared/train.csv", "outputs/train.json"):
            assert (clone / path).read_bytes() == (project.path / path).read_bytes(), path
        status = subprocess.run(
            [dvc, "status"], cwd=clone, env=project.env(), capture_output=True, text=True
        )
        assert "Data and pipelines are up to date" in status.stdout


class CloudRemoteChecks:
    """A cloud DVC remote: configured from DVC_REMOTE_URL, never from a committed URL."""

    def test_make_remote_sets_the_url_outside_git(self, project):
        config = (project.path / ".dvc" / "config").read_text()
        assert "DVC_REMOTE_URL-not-set" in config
        refused = project.run("make", "remote", check=False)
        assert "Set DVC_REMOTE_URL" in refused
        url = (project.path / ".dvc" / "config").read_text().split("url = ")[1].split(":")[0]
        project.make("remote", DVC_REMOTE_URL=f"{url}://team-bucket/data")
        listed = project.run(".venv/bin/dvc", "remote", "list")
        assert f"{url}://team-bucket/data" in listed
        assert "team-bucket" in (project.path / ".dvc" / "config.local").read_text()
        assert "config.local" not in project.run("git", "status", "--porcelain")


class ValidationChecks:
    """Bad raw data stops the pipeline with a report, not a traceback."""

    def test_a_corrupted_csv_is_refused_with_a_report(self, project, tmp_path):
        workspace = project.workspace(tmp_path)
        workspace.job("snapshot")
        raw = tmp_path / "data" / "raw" / "data.csv"
        lines = raw.read_text().splitlines()
        header = lines[0].split(",")
        row = lines[4].split(",")
        row[header.index("mean_radius")] = "abc"
        lines[4] = ",".join(row)
        raw.write_text("\n".join(lines) + "\n")
        refused = workspace.job("pipeline", check=False)
        assert "error: The raw data failed 1 check(s) of data_checks.py" in refused
        assert "mean_radius" in refused and "line 5 (abc)" in refused
        assert "Traceback" not in refused
        assert not (tmp_path / "data" / "prepared").exists(), "nothing downstream ran"


class LineageChecks:
    """The registered version names the commit and the data it came from."""

    def test_the_version_carries_the_commit_and_the_data_hash(self, project, reproduced):
        tags = project.python(VERSION_TAGS.format(package=project.package), reproduced["version"])
        dvc_file = yaml.safe_load((project.path / "data" / "raw" / "data.csv.dvc").read_text())
        assert tags["lineage.git_commit"] == reproduced["commit"]
        assert tags["lineage.git_dirty"] == "false"
        assert tags["lineage.data_md5"] == dvc_file["outs"][0]["md5"]
        assert tags["lineage.data_versioned"] == "true"


class ModelCardChecks:
    """Every registered version has a card that names its data."""

    def test_a_card_names_the_versions_data_and_metrics(self, project, reproduced):
        name = project.package.replace("_", "-")
        card = project.path / "reports" / "model_cards" / f"{name}-v{reproduced['version']}.md"
        text = card.read_text()
        dvc_file = yaml.safe_load((project.path / "data" / "raw" / "data.csv.dvc").read_text())
        assert dvc_file["outs"][0]["md5"] in text and reproduced["commit"] in text
        assert "| roc_auc |" in text and "## Intended use" in text


TAMPERINGS = {
    "edited": lambda lines: [lines[0], lines[1].replace('"who": "', '"who": "x'), *lines[2:]],
    "removed": lambda lines: [lines[0], *lines[2:]],
    "reordered": lambda lines: [lines[0], lines[2], lines[1], *lines[3:]],
    "truncated": lambda lines: lines[:2],
}


class AuditChecks:
    """`make audit`: 0 for an intact trail; each kind of tampering named, non-zero."""

    @once_per_level
    def test_make_audit_catches_every_kind_of_tampering(self, project, reproduced):
        assert "the chain holds" in project.make("audit")
        trail = project.path / "audit" / "trail.jsonl"
        original = trail.read_text()
        try:
            for kind, tamper in TAMPERINGS.items():
                trail.write_text("\n".join(tamper(original.splitlines())) + "\n")
                result = project.run("make", "audit", check=False)
                assert "Error 1" in result and "Traceback" not in result, kind
                assert re.search(r"audit/trail\.jsonl (ends at )?line \d+", result), (kind, result)
        finally:
            trail.write_text(original)
        assert "the chain holds" in project.make("audit")

    def test_one_command_answers_where_a_version_came_from(self, project, reproduced):
        answer = project.run(
            ".venv/bin/" + project.package, "audit", "--version", reproduced["version"]
        )
        assert f"version {reproduced['version']}, from run" in answer
        assert f"lineage.git_commit: {reproduced['commit']}" in answer
        assert " register by " in answer


class DockerChecks:
    """The Dockerfile is lint-clean; its install and start commands work outside a container."""

    def test_dockerfile_passes_hadolint(self, project):
        result = subprocess.run(
            [tool("hadolint"), "Dockerfile"], cwd=project.path, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def test_compose_file_matches_the_compose_schema(self, project):
        check_jsonschema(project.path / "compose.yaml", "vendor.compose-spec")

    def test_the_images_commands_run_outside_a_container(self, project, scoring_model, tmp_path):
        image = read_image(project.path / "Dockerfile")
        assert image.user == "10001:10001"
        venv = tmp_path / "app-venv"
        env = {**project.env(), "UV_PROJECT_ENVIRONMENT": str(venv)}
        installed = subprocess.run(
            image.install, cwd=project.path, env=env, capture_output=True, text=True
        )
        assert installed.returncode == 0, installed.stderr
        command = [str(venv / "bin" / image.cmd[0]), *image.cmd[1:]]
        run_env = {**project.env(), **{k: v for k, v in image.env.items() if k != "PATH"}}
        if image.healthcheck is None:  # the batch job: reads and writes under /data
            data = tmp_path / "data"
            data.mkdir()
            shutil.copy(project.path / "data" / "examples" / "sample.csv", data / "input.csv")
            command = [part.replace("/data/", f"{data}/") for part in command]
            subprocess.run(command, cwd=project.path, env=run_env, check=True, capture_output=True)
            assert len((data / "predictions.csv").read_text().splitlines()) == 21
            return
        with serve(command, project.path, run_env) as url:
            health = subprocess.run(
                [str(venv / "bin" / "python"), *image.healthcheck[1:]],
                env={**run_env, "PORT": url.rsplit(":", 1)[1]},
                capture_output=True,
            )
            assert health.returncode == 0, "the HEALTHCHECK command passes"
            assert get_json(f"{url}/ready")[0] == 200


class CDChecks:
    """The CD workflow: valid, least privilege, approval before the champion moves."""

    def test_cd_workflow_is_valid_and_actionlint_clean(self, project):
        workflow = project.path / ".github" / "workflows" / "cd.yml"
        check_jsonschema(workflow, "vendor.github-workflows")
        actionlint(project.path)

    def test_promotion_waits_for_the_production_environment(self, project):
        workflow = yaml.safe_load((project.path / ".github" / "workflows" / "cd.yml").read_text())
        assert workflow["permissions"] == {}
        assert workflow["concurrency"]["cancel-in-progress"] is False
        jobs = workflow["jobs"]
        assert jobs["promote"]["environment"] == "production"
        assert jobs["promote"]["needs"] == "image"
        assert jobs["image"]["permissions"]["packages"] == "write"
        assert "packages" not in jobs["promote"]["permissions"]
        for job in jobs.values():
            for step in job["steps"]:
                if "uses" in step:
                    assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]


class RepoGovernanceChecks:
    """CODEOWNERS, Dependabot and the pull-request checklist."""

    def test_dependabot_matches_its_schema(self, project):
        check_jsonschema(project.path / ".github" / "dependabot.yml", "vendor.dependabot")

    def test_codeowners_names_only_paths_that_exist_or_will(self, project):
        for line in (project.path / ".github" / "CODEOWNERS").read_text().splitlines():
            if not line.strip() or line.startswith("#") or line.startswith("*"):
                continue
            path = line.split()[0].lstrip("/").rstrip("/")
            will_exist = path.startswith(("audit", "reports", "data"))  # written by the jobs
            assert will_exist or (project.path / path).exists(), path

    def test_the_pull_request_template_has_the_model_checklist(self, project):
        checklist = (project.path / ".github" / "pull_request_template.md").read_text()
        for item in (
            "Data version",
            "Validation report",
            "Gate metrics",
            "Model card",
            "make audit",
        ):
            assert item in checklist


class DriftChecks:
    """`make drift`: exit 0 on the clean batch, Error 3 on the shifted one, 1 on bad input."""

    @once_per_level
    def test_the_shipped_batches_and_a_bad_one(self, project, champion, tmp_path):
        clean = project.run("make", "drift", "CURRENT=data/examples/batch_clean.csv")
        assert "No drift:" in clean
        shifted = project.run(
            "make", "drift", "CURRENT=data/examples/batch_shifted.csv", check=False
        )
        assert "Drift:" in shifted and "Error 3" in shifted
        report = json.loads((project.path / "reports" / "drift.json").read_text())
        assert report["drifted"] is True and len(report["features"]) == 30
        assert (project.path / "reports" / "drift.html").stat().st_size > 100_000
        empty = tmp_path / "empty.csv"
        empty.write_text("")
        refused = project.run("make", "drift", f"CURRENT={empty}", check=False)
        assert "Error 1" in refused and "is empty" in refused and "Traceback" not in refused

    @once_per_level
    def test_the_check_is_logged_to_mlflow(self, project, champion):
        project.run("make", "drift", "CURRENT=data/examples/batch_shifted.csv", check=False)
        logged = project.python(DRIFT_RUN)
        assert logged["drifted"] == 1.0 and {"drift/drift.html", "drift/drift.json"} <= set(
            logged["artifacts"]
        )


class ContinuousTrainingChecks:
    """The retrain and drift-check workflows, and their chain run locally."""

    def test_workflows_are_valid_and_triggered_as_designed(self, project, tmp_path):
        workflows = project.path / ".github" / "workflows"
        for name in ("retrain.yml", "drift.yml"):
            check_jsonschema(workflows / name, "vendor.github-workflows")
        actionlint(project.path)
        retrain = yaml.safe_load((workflows / "retrain.yml").read_text())
        triggers = retrain[True]  # YAML 1.1 reads `on` as True
        assert triggers["schedule"][0]["cron"] and "workflow_dispatch" in triggers
        assert triggers["repository_dispatch"]["types"] == ["drift-detected"]
        assert (
            retrain["permissions"] == {} and retrain["concurrency"]["cancel-in-progress"] is False
        )
        assert retrain["jobs"]["report-failure"]["permissions"] == {"issues": "write"}
        drift = yaml.safe_load((workflows / "drift.yml").read_text())
        dispatch = " ".join(step.get("run", "") for step in drift["jobs"]["retrain"]["steps"])
        assert "event_type=drift-detected" in dispatch
        retrain_job = "make kfp-run" if self.variant.has.kubeflow else "make retrain"
        assert retrain_job in (workflows / "retrain.yml").read_text()
        # A runner has no batch of its own: without DRIFT_BATCH the check fails and says so.
        output = tmp_path / "github_output"
        check = step_script(workflows / "drift.yml", "check", "Check for drift")
        refused = subprocess.run(
            check,
            cwd=project.path,
            env={**project.env(), "DRIFT_BATCH": "", "GITHUB_OUTPUT": str(output)},
            capture_output=True,
            text=True,
        )
        assert refused.returncode == 1 and not output.exists()
        assert "::error::No batch to check: set the repository variable DRIFT_BATCH" in (
            refused.stdout
        )

    @once_per_level
    def test_a_shifted_batch_leads_to_a_challenger_that_must_beat_the_champion(
        self, project, reproduced, tmp_path
    ):
        # The drift workflow's own step, on the shifted batch: it asks for retraining.
        output = tmp_path / "github_output"
        workflow = project.path / ".github" / "workflows" / "drift.yml"
        check = step_script(workflow, "check", "Check for drift")
        batch = {"DRIFT_BATCH": "data/examples/batch_shifted.csv", "GITHUB_OUTPUT": str(output)}
        project.run(*check, env=batch)
        assert output.read_text() == "drifted=true\n"
        # On Kubeflow the workflow submits the same stages to the cluster (checked with
        # the workflows); here they run on this machine, as on a GitHub runner.
        version, role = registered(project.make("retrain"))
        events = [
            json.loads(line)["event"]
            for line in (project.path / "audit" / "trail.jsonl").read_text().splitlines()
        ]
        assert events[-1] == "register" and "drift" in events
        register = json.loads((project.path / "outputs" / "register.json").read_text())
        assert register["version"] == version and register["promoted"] == (role == "champion")
        assert register["reason"]


class ServiceMetricsChecks:
    """GET /metrics of the running service, scraped by a real Prometheus with the
    project's config: every series the rules and the dashboard use, every rule healthy."""

    def test_make_serve_exposes_every_series_monitoring_uses(self, project, champion):
        with project.serving() as url:
            example = (project.path / "examples" / "request.json").read_bytes()
            assert post_json(f"{url}/predict", example)[0] == 200
            text = get_text(f"{url}/metrics")
        exposed = {
            line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1] != "#"
        }
        used = metric_names(project.path) - pushed_names(project.package)
        assert used and used <= exposed, used - exposed

    def test_a_real_prometheus_scrapes_the_service_and_evaluates_every_rule(
        self, project, champion, tmp_path
    ):
        if missing := prometheus_tools_missing():
            pytest.skip(
                f"{', '.join(missing)} is not installed (Debian: apt-get install prometheus "
                "prometheus-pushgateway); .ci/run installs both"
            )
        example = (project.path / "examples" / "request.json").read_bytes()
        config = project.path / PROMETHEUS / "prometheus.yml"
        with project.serving() as url, pushgateway(tmp_path) as gateway:
            for _ in range(20):
                post_json(f"{url}/predict", example)
            post_json(f"{url}/predict", b'{"instances": [{"mean_radius": "x"}]}')
            pushed = project.run(
                "make", "drift", "CURRENT=data/examples/batch_shifted.csv", check=False,
                env={"PUSHGATEWAY_URL": f"http://{gateway}"},
            )  # fmt: skip
            assert "Error 3" in pushed
            service = url.removeprefix("http://")
            with prometheus(config, service, gateway, tmp_path) as server:
                wait_for(
                    "every target up",
                    lambda: all(t["health"] == "up" for t in server.targets()),
                )
                prefix = project.package
                wait_for("rates", lambda: server.query(f"rate({prefix}_http_requests_total[1m])"))
                missing = [name for name in metric_names(project.path) if not server.query(name)]
                assert not missing, f"series Prometheus has not seen: {missing}"
                rules = wait_for("every rule evaluated", lambda: evaluated(server.rules()))
                assert all(rule["health"] == "ok" for rule in rules), rules


def evaluated(rules: list[dict]) -> list[dict] | None:
    """The rules, once Prometheus has evaluated every one of them."""
    done = all(not rule["lastEvaluation"].startswith("0001") for rule in rules)
    return rules if rules and done else None


class InputSamplingChecks:
    """The service samples what it scores; `make drift` without CURRENT checks the samples."""

    def test_sampled_inputs_feed_the_drift_check(self, project, champion, tmp_path):
        samples = tmp_path / "samples"
        env = {"SAMPLE_RATE": "1", "SAMPLE_DIR": str(samples)}
        batch = (project.path / "data" / "examples" / "batch_clean.csv").read_text().splitlines()
        header = batch[0].split(",")
        rows = [dict(zip(header, map(float, line.split(",")), strict=True)) for line in batch[1:]]
        with project.serving(env) as url:
            for start in range(0, len(rows), 50):
                body = json.dumps({"instances": rows[start : start + 50]}).encode()
                assert post_json(f"{url}/predict", body)[0] == 200
        (kept,) = samples.glob("samples-*.jsonl")  # 200 rows, far below a file's 10,000
        lines = kept.read_text().splitlines()
        assert [row for line in lines for row in json.loads(line)["instances"]] == rows
        checked = project.run("make", "drift", env=env)
        assert "No drift:" in checked


class ChallengerTrafficChecks:
    """CHALLENGER=canary sends requests to the challenger; shadow answers as the champion."""

    def test_canary_and_shadow_on_the_running_service(self, project, champion, tmp_path):
        example = (project.path / "examples" / "request.json").read_bytes()
        with project.serving({"CHALLENGER": "canary", "CANARY_SHARE": "1"}) as url:
            for _ in range(5):
                post_json(f"{url}/predict", example)
            assert 'variant="challenger"' in get_text(f"{url}/metrics")
        with project.serving({"CHALLENGER": "shadow", "SAMPLE_DIR": str(tmp_path)}) as url:
            answers = [post_json(f"{url}/predict", example)[1] for _ in range(5)]
        assert all(answer == answers[0] for answer in answers)
        logged = (tmp_path / "shadow.jsonl").read_text().splitlines()
        assert len(logged) == 5 and json.loads(logged[0])["champion"] == answers[0]


PROMETHEUS = Path("monitoring") / "prometheus"
# Each alert of alerts.yml, after the project's CamelCase name; the service's only online.
SERVICE_ALERTS = {
    "HighErrorRate",
    "HighLatency",
    "NoTraffic",
    "NotReady",
    "ErrorBudgetFastBurn",
    "ErrorBudgetSlowBurn",
}
DRIFT_ALERTS = {"DataDrift", "DriftCheckStale"}
# Batch-only on Kubernetes: the scoring CronJob, through kube-state-metrics.
SCORING_ALERTS = {"ScoringStale", "ScoringSlow"}


def alert_prefix(project_name: str) -> str:
    """ChurnModel from "Churn Model" (or "churn-model"): how alerts.yml names its alerts."""
    return re.sub(r"[^A-Za-z0-9]+", " ", project_name).title().replace(" ", "")


def promtool(*args: str, cwd: Path) -> str:
    """Run promtool (Debian's prometheus package, which .ci/run installs) in `cwd`."""
    if shutil.which("promtool") is None:
        pytest.fail("promtool is not on PATH: apt-get install prometheus (.ci/run does)")
    result = subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def drift_threshold(params: dict) -> float:
    """The share of drifted columns from which the drift check reports drift."""
    threshold = params.get("drift", {}).get("threshold", params.get("drift_threshold"))
    assert threshold is not None, "params.yaml has no drift threshold (drift.threshold)"
    return float(threshold)


class MonitoringChecks:
    """The Prometheus config, the alert rules and their unit tests, the Grafana dashboard."""

    def test_promtool_accepts_the_config_and_the_rules(self, project):
        folder = project.path / PROMETHEUS
        checked = promtool("check", "config", "prometheus.yml", cwd=folder)
        assert "SUCCESS: 1 rule files found" in checked
        promtool("check", "rules", "alerts.yml", cwd=folder)

    def test_every_alert_is_unit_tested_firing_and_silent(self, project):
        folder = project.path / PROMETHEUS
        promtool("test", "rules", "alerts_test.yml", cwd=folder)
        rules = yaml.safe_load((folder / "alerts.yml").read_text())
        alerts = {
            rule["alert"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule
        }
        has = self.variant.has
        expected = DRIFT_ALERTS | (SERVICE_ALERTS if has.service_metrics else set())
        expected |= SCORING_ALERTS if has.kubernetes and not has.online else set()
        prefix = alert_prefix(project.answers["project_name"])
        assert alerts == {prefix + alert for alert in expected}
        fired, silent = set(), set()
        for test in yaml.safe_load((folder / "alerts_test.yml").read_text())["tests"]:
            cases: dict[str, list[bool]] = {}
            for case in test.get("alert_rule_test", []):
                cases.setdefault(case["alertname"], []).append(bool(case["exp_alerts"]))
            fired |= {name for name, fires in cases.items() if any(fires)}
            silent |= {name for name, fires in cases.items() if not any(fires)}
        assert fired == alerts, "a test where each alert fires"
        assert silent == alerts, "a test where each alert stays silent throughout"

    def test_every_alert_links_its_runbook_and_groups_by_environment(self, project):
        """runbook_url is a page of docs/runbooks/ with a section for the alert; every rule
        that aggregates keeps the environment label (the others keep every label)."""
        rules = yaml.safe_load((project.path / PROMETHEUS / "alerts.yml").read_text())
        prefix = alert_prefix(project.answers["project_name"])
        for rule in (rule for group in rules["groups"] for rule in group["rules"]):
            for grouping in re.findall(
                r"\b(?:sum|max|min|avg|count)\b\s*(by \([^)]*\))?\s*\(", rule["expr"]
            ):
                assert re.fullmatch(r"by \(environment\b.*", grouping), (rule["expr"], grouping)
            if "alert" not in rule:
                continue
            page, _, anchor = rule["annotations"]["runbook_url"].partition("#")
            assert page.startswith("docs/runbooks/") and anchor, rule["alert"]
            headings = re.findall(r"^## (\w+)$", (project.path / page).read_text(), re.M)
            short = rule["alert"].removeprefix(prefix)
            assert short.lower() == anchor and short in headings, (rule["alert"], headings)
            text = (project.path / page).read_text().split(f"## {short}\n")[1].split("\n## ")[0]
            for part in ("What it means", "How to look", "How to roll back"):
                assert f"**{part}.**" in text, (short, part)

    def test_the_drift_alert_fires_on_the_drift_checks_verdict(self, project):
        """The check reports drift from a share at its threshold; so does the alert."""
        rules = yaml.safe_load((project.path / PROMETHEUS / "alerts.yml").read_text())
        (expr,) = [
            rule["expr"]
            for group in rules["groups"]
            for rule in group["rules"]
            if rule.get("alert", "").endswith("DataDrift")
        ]
        package = project.package
        assert expr.strip() == f"{package}_drift_share and {package}_drift_detected == 1"
        params = yaml.safe_load((project.path / "params.yaml").read_text())
        tests = yaml.safe_load((project.path / PROMETHEUS / "alerts_test.yml").read_text())
        at_threshold = [
            test
            for test in tests["tests"]
            for series in test["input_series"]
            if series["series"].startswith(f"{package}_drift_share{{")
            and float(series["values"].split("x")[0]) == drift_threshold(params)
        ]
        (test,) = at_threshold
        assert any(case["exp_alerts"] for case in test["alert_rule_test"]), test["name"]

    def test_prometheus_scrapes_the_service_and_the_pushgateway(self, project):
        config = yaml.safe_load((project.path / PROMETHEUS / "prometheus.yml").read_text())
        jobs = {job["job_name"]: job for job in config["scrape_configs"]}
        targets = {
            name: [target for static in job["static_configs"] for target in static["targets"]]
            for name, job in jobs.items()
        }
        # The pushed job label (the drift check's) is kept, not renamed to exported_job.
        assert jobs["pushgateway"]["honor_labels"] is True
        assert targets.pop("pushgateway") == ["127.0.0.1:9091"]
        if self.variant.has.service_metrics:
            name = project.package.replace("_", "-")
            assert targets == {name: ["127.0.0.1:8000"]}
            assert jobs[name]["metrics_path"] == "/metrics"
        else:
            assert targets == {}

    def test_the_dashboard_queries_only_the_contracts_metrics(self, project, tmp_path):
        dashboard = json.loads((project.path / "monitoring/grafana/dashboard.json").read_text())
        variables = {item["name"]: item for item in dashboard["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        for panel in dashboard["panels"]:
            if panel["type"] == "row":
                continue
            for source in [panel, *panel["targets"]]:
                assert source["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        used = metric_names(project.path)
        assert used <= contract_names(project.package), used - contract_names(project.package)
        families = PUSHED if not self.variant.has.service_metrics else tuple(CONTRACT)
        for family in families:
            assert used & contract_names(project.package, (family,)), f"{family} is not shown"
        # PromQL syntax, with no server: every query as a recording rule for promtool.
        queries = [
            {"record": f"panel_{panel['id']}_{target['refId']}", "expr": target["expr"]}
            for panel in dashboard["panels"]
            for target in panel.get("targets", [])
        ]
        rules = json.dumps({"groups": [{"name": "dashboard", "rules": queries}]})
        (tmp_path / "queries.yml").write_text(rules.replace("$__rate_interval", "5m"))
        promtool("check", "rules", "queries.yml", cwd=tmp_path)


# The Kubernetes release whose API schemas the overlays must pass (the CronJob's
# podFailurePolicy validates from 1.29 on).
KUBERNETES_VERSION = "1.32"
OVERLAYS = ("staging", "prod")
WORKLOADS = {"Deployment", "CronJob"}
# The prometheus-operator's kinds, which Kubernetes' own schemas do not know.
OPERATOR_KINDS = {"ServiceMonitor", "PrometheusRule"}


def kustomize(overlay: Path) -> str:
    """What `kubectl kustomize` builds from an overlay (kubectl has kustomize built in)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is not on PATH: it builds the kustomize overlays (install kubectl)")
    result = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stderr, result.stderr
    return result.stdout


def objects_of(manifests: str) -> list[dict]:
    return [item for item in yaml.safe_load_all(manifests) if item]


def claims_of(pod: dict) -> dict[str, str]:
    """The pod's volumes that are persistent volume claims: volume name -> claim name."""
    return {
        volume["name"]: volume["persistentVolumeClaim"]["claimName"]
        for volume in pod["volumes"]
        if "persistentVolumeClaim" in volume
    }


def pod_template(workload: dict) -> dict:
    spec = workload["spec"]
    return (spec["jobTemplate"]["spec"] if workload["kind"] == "CronJob" else spec)["template"]


def by_kind(objects: list[dict]) -> dict[str, dict[str, dict]]:
    """{kind: {name: object}}"""
    found: dict[str, dict[str, dict]] = {}
    for item in objects:
        found.setdefault(item["kind"], {})[item["metadata"]["name"]] = item
    return found


def up(process: subprocess.Popen, url: str) -> bool:
    """Whether `url` answers 200; fails at once when the process has stopped."""
    if process.poll() is not None:
        raise AssertionError(f"it stopped: {process.communicate()[1][-3000:]}")
    return get_json(url)[0] == 200


def put_batch(project: Project, spec, volumes: dict[str, Path], batch: str) -> None:
    """Put a shipped batch where the drift job reads it: the CSV it is given, or the
    request bodies of the samples folder."""
    source = project.path / "data" / "examples" / batch
    if "--current" in spec.command:
        target = host_path(spec, volumes, spec.command[spec.command.index("--current") + 1])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return
    lines = source.read_text().splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, map(float, line.split(",")), strict=True)) for line in lines[1:]]
    bodies = [
        json.dumps({"instances": rows[start : start + 50]}) for start in range(0, len(rows), 50)
    ]
    folder = host_path(spec, volumes, spec.env["SAMPLE_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "samples-00001.jsonl").write_text("\n".join(bodies) + "\n")


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


class KubernetesChecks:
    """The kustomize overlays: valid objects, locked-down pods, the drift CronJob, deploying."""

    @pytest.fixture(scope="class")
    @classmethod
    def built(cls, project) -> dict[str, str]:
        """Each overlay as kustomize builds it: the manifests `kubectl apply -k` sends."""
        return {env: kustomize(project.path / "deploy/k8s/overlays" / env) for env in OVERLAYS}

    @pytest.fixture(scope="class")
    @classmethod
    def overlays(cls, built) -> dict[str, list[dict]]:
        """Each overlay's objects."""
        return {env: objects_of(manifests) for env, manifests in built.items()}

    def test_overlays_pass_kubernetes_validate_strict(self, built, overlays):
        """Every object validates strictly (no unknown field); only the prometheus-operator's
        kinds are unknown to Kubernetes' own schemas, and nothing else is skipped."""
        for env in OVERLAYS:
            result = subprocess.run(
                [tool("kubernetes-validate"), "--strict", "-k", KUBERNETES_VERSION, "-"],
                input=built[env],
                capture_output=True,
                text=True,
            )
            output = result.stdout + result.stderr
            assert result.returncode == 0, output
            unexpected = [
                line
                for line in output.splitlines()
                if not line.startswith("INFO")
                and not any(f"kind {kind}" in line for kind in OPERATOR_KINDS)
            ]
            assert not unexpected, output
            checked = [item for item in overlays[env] if item["kind"] not in OPERATOR_KINDS]
            assert output.count(" - passed for resource ") == len(checked), output

    def test_every_pod_runs_locked_down(self, overlays):
        for env, objects in overlays.items():
            workloads = [item for item in objects if item["kind"] in WORKLOADS]
            assert workloads, env
            for workload in workloads:
                where = f"{env}: {workload['kind']}/{workload['metadata']['name']}"
                pod = pod_template(workload)["spec"]
                assert pod["securityContext"]["runAsNonRoot"] is True, where
                assert pod["securityContext"]["runAsUser"] == 10001, where
                assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
                assert pod["automountServiceAccountToken"] is False, where
                scratch = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
                for container in pod["containers"]:
                    context = container["securityContext"]
                    assert context["allowPrivilegeEscalation"] is False, where
                    assert context["readOnlyRootFilesystem"] is True, where
                    assert context["capabilities"]["drop"] == ["ALL"], where
                    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
                    assert mounts["/tmp"] in scratch, f"{where}: /tmp is not an emptyDir"
                    for part in ("requests", "limits"):
                        assert set(container["resources"][part]) == {"cpu", "memory"}, where
                    assert re.fullmatch(r"ghcr\.io/OWNER/[a-z0-9-]+:v[\d.]+", container["image"])

    def test_the_drift_cronjob_checks_the_inputs_daily(self, project, overlays):
        name = project.package.replace("_", "-")
        for env, objects in overlays.items():
            kinds = by_kind(objects)
            config = next(iter(kinds["ConfigMap"].values()))["data"]
            cron = kinds["CronJob"][f"{name}-drift"]
            assert re.fullmatch(r"\d+ \d+ \* \* \*", cron["spec"]["schedule"]), "daily"
            pod = pod_template(cron)["spec"]
            (container,) = pod["containers"]
            env_vars = {item["name"]: item for item in container["env"]}
            for key in ("PUSHGATEWAY_URL", "MLFLOW_TRACKING_URI"):
                assert env_vars[key]["valueFrom"]["configMapKeyRef"]["key"] in config, env
            assert config["PUSHGATEWAY_URL"].startswith("http")
            claims = claims_of(pod)
            (mount,) = [m for m in container["volumeMounts"] if m["name"] in claims]
            if not self.variant.has.online:
                # The batch the scoring CronJob scored: the same claim, at the same path.
                scoring_pod = pod_template(kinds["CronJob"][f"{name}-predict"])["spec"]
                (scoring,) = scoring_pod["containers"]
                batch = scoring["command"][scoring["command"].index("--input") + 1]
                assert container["command"] == [project.package, "drift", "--current", batch]
                assert "SAMPLE_DIR" not in env_vars
                (reads,) = [m for m in scoring["volumeMounts"] if batch.startswith(m["mountPath"])]
                assert reads["mountPath"] == mount["mountPath"]
                assert claims_of(scoring_pod)[reads["name"]] == claims[mount["name"]]
            else:
                # SAMPLE_DIR is on the claimed volume the service writes its samples to.
                assert container["command"] == [project.package, "drift"]
                sample_dir = env_vars["SAMPLE_DIR"]["value"]
                assert sample_dir == mount["mountPath"] or sample_dir.startswith(mount["mountPath"])
                claim = kinds["PersistentVolumeClaim"][claims[mount["name"]]]
                assert claim["metadata"]["name"] == f"{name}-samples"
                assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
                server = pod_template(kinds["Deployment"][name])["spec"]
                (serving,) = server["containers"]
                (writes,) = [m for m in serving["volumeMounts"] if m["mountPath"] == sample_dir]
                assert claims_of(server)[writes["name"]] == f"{name}-samples"
                assert {e["name"]: e.get("value") for e in serving["env"]}["SAMPLE_DIR"] == (
                    sample_dir
                )

    def test_workloads_follow_the_serving_choice(self, project, overlays):
        """Online: the service with probes, scaling and a disruption budget. Batch: a
        CronJob that scores a batch on a volume instead."""
        name = project.package.replace("_", "-")
        for objects in overlays.values():
            kinds = by_kind(objects)
            if not self.variant.has.online:
                assert not {"Deployment", "Service", "HorizontalPodAutoscaler"} & set(kinds)
                assert "PodDisruptionBudget" not in kinds
                scoring = pod_template(kinds["CronJob"][f"{name}-predict"])["spec"]
                (container,) = scoring["containers"]
                command = container["command"]
                assert command[:2] == [project.package, "predict"], command
                data = {m["mountPath"] for m in container["volumeMounts"] if m["name"] == "data"}
                for option in ("--input", "--output"):
                    path = command[command.index(option) + 1]
                    assert any(path.startswith(f"{folder}/") for folder in data), path
                continue
            deployment = kinds["Deployment"][name]
            assert "replicas" not in deployment["spec"], "the HorizontalPodAutoscaler owns it"
            server = pod_template(deployment)
            (container,) = server["spec"]["containers"]
            ports = {port["name"]: port["containerPort"] for port in container["ports"]}
            assert ports == {"http": 8000}
            probes = {
                "startupProbe": "/ready",
                "readinessProbe": "/ready",
                "livenessProbe": "/health",
            }
            for probe, path in probes.items():
                assert container[probe]["httpGet"] == {"path": path, "port": "http"}, probe
            labels = server["metadata"]["labels"]
            service = kinds["Service"][name]
            assert matches(service["spec"]["selector"], labels)
            assert service["spec"]["ports"][0]["targetPort"] == "http"
            for cron in kinds["CronJob"].values():
                job_labels = pod_template(cron)["metadata"]["labels"]
                assert not matches(service["spec"]["selector"], job_labels), "jobs get no traffic"
            hpa = kinds["HorizontalPodAutoscaler"][name]
            assert hpa["apiVersion"] == "autoscaling/v2"
            assert hpa["spec"]["scaleTargetRef"] == {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": name,
            }
            # A budget of minAvailable 1 over a single replica would block every node drain.
            assert hpa["spec"]["minReplicas"] >= 2
            pdb = kinds["PodDisruptionBudget"][name]
            assert matches(pdb["spec"]["selector"]["matchLabels"], labels)
            annotations = server["metadata"].get("annotations", {})
            for monitor in kinds.get("ServiceMonitor", {}).values():
                assert matches(
                    monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"]
                )
                assert {e["port"] for e in monitor["spec"]["endpoints"]} <= {"http"}
                assert annotations["prometheus.io/scrape"] == "false", "scraped twice otherwise"

    def test_network_policies_keep_each_pod_to_what_it_needs(self, project, overlays):
        """The jobs: no ingress, egress to DNS and the namespaces of the ConfigMap's MLflow
        and Pushgateway, and HTTPS. The service: from the ingress and Prometheus, on http,
        spread over nodes and zones."""
        name = project.package.replace("_", "-")
        for objects in overlays.values():
            kinds = by_kind(objects)
            config = next(iter(kinds["ConfigMap"].values()))["data"]
            jobs = kinds["NetworkPolicy"][f"{name}-jobs"]["spec"]
            assert jobs["policyTypes"] == ["Ingress", "Egress"] and jobs["ingress"] == []
            reached = {
                port["port"]: {
                    peer.get("namespaceSelector", {})
                    .get("matchLabels", {})
                    .get("kubernetes.io/metadata.name", peer.get("ipBlock", {}).get("cidr"))
                    for peer in rule["to"]
                }
                for rule in jobs["egress"]
                for port in rule["ports"]
            }
            assert set(reached) == {53, 5000, 9091, 443}
            (mlflow,) = reached[5000]
            (gateway,) = reached[9091]
            assert f".{mlflow}.svc" in config["MLFLOW_TRACKING_URI"]
            assert f".{gateway}.svc" in config["PUSHGATEWAY_URL"]
            (selector,) = jobs["podSelector"]["matchExpressions"]
            for cron in kinds["CronJob"].values():
                labels = pod_template(cron)["metadata"]["labels"]
                assert labels["app.kubernetes.io/component"] in selector["values"]
            if not self.variant.has.online:
                continue
            server = pod_template(kinds["Deployment"][name])
            policy = kinds["NetworkPolicy"][f"{name}-server"]["spec"]
            assert matches(policy["podSelector"]["matchLabels"], server["metadata"]["labels"])
            assert policy["policyTypes"] == ["Ingress"]
            (rule,) = policy["ingress"]
            assert rule["ports"] == [{"port": "http"}]
            sources = {
                peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                for peer in rule["from"]
            }
            assert sources == {"ingress-nginx", "monitoring"}
            spread = server["spec"]["topologySpreadConstraints"]
            keys = {constraint["topologyKey"] for constraint in spread}
            assert keys == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
            for constraint in spread:
                assert matches(
                    constraint["labelSelector"]["matchLabels"], server["metadata"]["labels"]
                )

    def test_codeowners_cover_the_operations_code(self, project):
        """The cluster's manifests, the monitoring and runbooks, the pipelines and the audit
        trail each have owners of their own, not only the catch-all."""
        owned = {
            line.split()[0].strip("/")
            for line in (project.path / ".github" / "CODEOWNERS").read_text().splitlines()
            if line.startswith("/")
        }
        expected = {"deploy", "monitoring", "docs/runbooks", "audit"}
        expected |= {"pipelines"} if self.variant.has.kubeflow else set()
        assert expected <= owned, expected - owned

    def test_the_prometheus_rule_carries_the_alert_rules(self, project, overlays):
        """The prod overlay's PrometheusRule has exactly alerts.yml's groups; staging, scraped
        by annotation, loads alerts.yml itself."""
        rules = yaml.safe_load((project.path / PROMETHEUS / "alerts.yml").read_text())
        (rule,) = by_kind(overlays["prod"])["PrometheusRule"].values()
        assert rule["apiVersion"] == "monitoring.coreos.com/v1"
        assert rule["spec"] == rules
        assert rule["metadata"]["labels"]["environment"] == "prod"
        assert "PrometheusRule" not in by_kind(overlays["staging"])

    def test_the_drift_job_runs_as_its_manifest_runs_it(
        self, project, champion, overlays, tmp_path
    ):
        """Each environment's drift CronJob, its command, env and mounts read from the built
        overlay, run on a read-only root against a real tracking server and Pushgateway:
        exit 0 on clean and drifted inputs alike, reports on its volume, the audit event on
        the tracking server, and the verdict in a real Prometheus under its environment."""
        if missing := prometheus_tools_missing():
            pytest.fail(f"{', '.join(missing)} is not installed: apt-get install (.ci/run does)")
        name = project.package.replace("_", "-")
        batches = {"staging": "batch_clean.csv", "prod": "batch_shifted.csv"}
        trail = project.path / "audit" / "trail.jsonl"
        before = trail.read_bytes() if trail.exists() else b""
        config = project.path / PROMETHEUS / "prometheus.yml"
        with (
            mlflow_server(project, tmp_path / "mlflow") as tracking,
            pushgateway(tmp_path) as gateway,
        ):
            project.python(SEED_CHAMPION.format(package=project.package), tracking)
            services = {"MLFLOW_TRACKING_URI": tracking, "PUSHGATEWAY_URL": f"http://{gateway}"}
            namespaces, pods = {}, {}
            with contextlib.ExitStack() as stack:
                for env, batch in batches.items():  # both environments at once
                    objects = overlays[env]
                    cron = by_kind(objects)["CronJob"][f"{name}-drift"]
                    spec, read = pod_spec(objects, pod_template(cron), "drift", services)
                    assert set(services) <= set(read), "the servers come from the ConfigMap"
                    namespaces[env] = spec.env["NAMESPACE"]
                    volumes = {m.volume: tmp_path / env / m.volume for m in spec.mounts}
                    for folder in volumes.values():
                        folder.mkdir(parents=True)
                    put_batch(project, spec, volumes, batch)
                    pod = start_in_pod(project, spec, volumes, tmp_path / env / "root")
                    pods[env] = (spec, volumes, stack.enter_context(pod))
                for env, (spec, volumes, pod) in pods.items():
                    stdout, stderr = pod.communicate(timeout=600)
                    assert pod.returncode == 0, stdout + stderr
                    assert ("Drift:" if env == "prod" else "No drift:") in stdout, stdout + stderr
                    reports = host_path(spec, volumes, "/app/reports")
                    written = {path.name for path in reports.iterdir()}
                    assert {"drift.html", "drift.json", "drift.prom"} <= written, stderr
            assert (trail.read_bytes() if trail.exists() else b"") == before
            events = project.python(AUDIT_EVENTS.format(package=project.package), tracking)
            assert sorted(event["drifted"] for event in events) == [False, True], events
            assert {event["event"] for event in events} == {"drift"}
            with prometheus(config, "127.0.0.1:9", gateway, tmp_path) as server:
                detected = f"{project.package}_drift_detected"
                seen = wait_for(
                    "both environments' verdicts",
                    lambda: len(found := server.query(detected)) == 2 and found,
                )
                verdicts = {
                    item["metric"]["environment"]: (item["metric"]["namespace"], item["value"][1])
                    for item in seen
                }
                assert verdicts == {
                    "staging": (namespaces["staging"], "0"),
                    "prod": (namespaces["prod"], "1"),
                }, seen
                print(f"Prometheus saw {detected}: {sorted(verdicts.items())}")
                print("rules:", sorted(rule["name"] for rule in server.rules()))

    def test_the_service_pod_starts_without_samples_and_waits_for_its_model(
        self, project, champion, overlays, tmp_path
    ):
        """The Deployment's container as its manifest runs it, without the samples volume
        (sampling cannot write, it must not matter), against a tracking server with no
        champion yet: alive and not ready; once one is registered, it loads by itself."""
        if not self.variant.has.online:
            pytest.skip("a batch-only project has no service")
        name = project.package.replace("_", "-")
        objects = overlays["staging"]
        deployment = by_kind(objects)["Deployment"][name]
        with mlflow_server(project, tmp_path / "mlflow") as tracking:
            services = {"MLFLOW_TRACKING_URI": tracking}
            spec, _ = pod_spec(objects, pod_template(deployment), name, services)
            port = free_port()  # the manifest's 8000 may be taken on a shared machine
            mounts = [mount for mount in spec.mounts if mount.volume != "samples"]
            spec = dataclasses.replace(spec, env={**spec.env, "PORT": str(port)}, mounts=mounts)
            volumes = {mount.volume: tmp_path / mount.volume for mount in spec.mounts}
            for folder in volumes.values():
                folder.mkdir()
            url = f"http://127.0.0.1:{port}"
            with start_in_pod(project, spec, volumes, tmp_path / "root") as pod:
                wait_for("/health", lambda: up(pod, f"{url}/health"), 180)
                status, body = get_json(f"{url}/ready")
                assert status == 503 and "champion" in body["detail"], body
                project.python(SEED_CHAMPION.format(package=project.package), tracking)
                wait_for("/ready", lambda: get_json(f"{url}/ready")[0] == 200, 180)
                example = (project.path / "examples" / "request.json").read_bytes()
                assert post_json(f"{url}/predict", example)[0] == 200
                assert pod.poll() is None

    @pytest.fixture(scope="class")
    @classmethod
    def ops_job(cls, project, tmp_path_factory) -> tuple[WorkflowJob, list]:
        """The CI workflow's `ops` job, its steps run in a fresh clone; and their results."""
        folder = tmp_path_factory.mktemp("ops-job")
        job = WorkflowJob.cloned(project, ".github/workflows/ci.yml", "ops", folder)
        return job, [job.run(step) for step in job.steps]

    def test_the_ci_ops_job_passes_on_the_rendered_project(self, ops_job):
        """Every step of the job, `make check-ops` last, as GitHub runs them: green."""
        job, results = ops_job
        assert job.steps[-1]["run"] == "make check-ops"
        for step, done in zip(job.steps, results, strict=True):
            assert done.returncode == 0, f"{step['run']}\n{done.stdout}{done.stderr}"

    @once_per_level
    def test_the_ci_ops_job_fails_on_what_it_checks(self, project, champion, ops_job):
        """`make check-ops`, the job's last step, red on a rule promtool cannot parse, an
        overlay with a field Kubernetes does not know, and an edited audit line."""
        job, _ = ops_job
        clone, name = job.clone, project.package.replace("_", "-")
        alerts = clone / PROMETHEUS / "alerts.yml"
        staging = clone / "deploy/k8s/overlays/staging/kustomization.yaml"
        trail = clone / "audit" / "trail.jsonl"
        kustomization = yaml.safe_load(staging.read_text())
        kustomization.setdefault("patches", []).append(
            {
                "target": {"kind": "CronJob", "name": f"{name}-drift"},
                "patch": '[{"op": "add", "path": "/spec/jobTemplate/spec/retries", "value": 3}]',
            }
        )
        lines = (project.path / "audit" / "trail.jsonl").read_text().splitlines()
        edited = json.dumps({**json.loads(lines[0]), "who": "someone-else"}, sort_keys=True)
        breakages = {
            "alerts.yml": (
                alerts,
                alerts.read_text().replace("_drift_detected == 1", "_drift_detected == ", 1),
            ),
            "retries": (staging, yaml.safe_dump(kustomization, sort_keys=False)),
            "line 1 was changed": (trail, "\n".join([edited, *lines[1:]]) + "\n"),
        }
        try:
            for expected, (path, text) in breakages.items():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
                done = job.run(job.steps[-1])
                output = done.stdout + done.stderr
                assert done.returncode != 0 and expected in output, output
                project.run("git", "-C", str(clone), "checkout", "--quiet", "--", ".")
        finally:
            project.run("git", "-C", str(clone), "checkout", "--quiet", "--", ".")
            trail.unlink(missing_ok=True)

    def test_the_release_deploys_the_prod_overlay_after_the_promotion(self, project, tmp_path):
        """The deploy job: after `promote`, the same environment, read-only; its image edit
        names the overlay's image, so every workload runs the release's image."""
        workflow = yaml.safe_load((project.path / ".github/workflows/cd.yml").read_text())
        deploy = workflow["jobs"]["deploy"]
        assert deploy["needs"] == "promote"
        assert deploy["environment"] == workflow["jobs"]["promote"]["environment"]
        assert deploy["permissions"] == {"contents": "read"}
        assert deploy["if"] == "github.event_name == 'push'"
        steps = {step.get("name"): step for step in deploy["steps"]}
        assert "secrets.KUBECONFIG" in steps["Cluster credentials"]["env"]["KUBECONFIG_CONTENT"]
        apply = steps["Apply the prod overlay with the release's image"]
        assert apply["working-directory"] == "deploy/k8s/overlays/prod"
        assert "kubectl apply -k ." in apply["run"]
        edit = re.search(
            r'kustomize edit set image "([\w-]+)=(\S+):\$\{GITHUB_REF_NAME\}"', apply["run"]
        )
        assert edit and edit.group(2) == "ghcr.io/${GITHUB_REPOSITORY,,}", apply["run"]
        # What `kustomize edit set image` writes, for a release v9.9.9 of acme/model.
        deploy_dir = tmp_path / "k8s"
        shutil.copytree(project.path / "deploy" / "k8s", deploy_dir)
        overlay = deploy_dir / "overlays" / "prod" / "kustomization.yaml"
        kustomization = yaml.safe_load(overlay.read_text())
        (image,) = [item for item in kustomization["images"] if item["name"] == edit.group(1)]
        image.update(newName="ghcr.io/acme/model", newTag="v9.9.9")
        overlay.write_text(yaml.safe_dump(kustomization))
        built = objects_of(kustomize(overlay.parent))
        workloads = [item for item in built if item["kind"] in WORKLOADS]
        images = {c["image"] for w in workloads for c in pod_template(w)["spec"]["containers"]}
        assert images == {"ghcr.io/acme/model:v9.9.9"}


# What the compiled Kubeflow pipeline says where KFP fills in the pipeline's parameters.
KFP_TRACKING = "MLFLOW_TRACKING_URI={{$.inputs.parameters['mlflow_tracking_uri']}}"
KFP_IMAGE = "{{$.inputs.parameters['pipelinechannel--image']}}"
KFP_RECORDS = "{{$.outputs.artifacts['records'].path}}"
# The folders the stages write to, each a folder of the run's volume.
KFP_MOUNTED = ("data/raw", "data/prepared", "outputs", "audit", "reports")


class KubeflowChecks:
    """The Kubeflow pipeline, a uv script apart from the project: compiled and read back.

    No cluster runs here, and kfp's local runner cannot run container components without
    Docker, so the compiled spec is checked by its structure, never its bytes (it embeds
    the SDK's version).
    """

    @pytest.fixture(scope="class")
    @classmethod
    def compiled(cls, project) -> tuple[dict, dict]:
        """`make kfp-compile` (uv may fetch kfp), then again offline: the pipeline spec and
        the Kubernetes settings of each executor."""
        project.make("kfp-compile")
        output = project.run("make", "kfp-compile", env={"UV_OFFLINE": "1"})
        assert "Compiled " in output and "Traceback" not in output
        compiled = (project.path / "pipelines" / "pipeline.yaml").read_text()
        spec, platform = yaml.safe_load_all(compiled)
        return spec, platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]

    @staticmethod
    def stages(project: Project) -> list[str]:
        """The steps that run a stage: the snapshot, then the stages of dvc.yaml in order."""
        return ["snapshot", *yaml.safe_load((project.path / "dvc.yaml").read_text())["stages"]]

    def test_kfp_stays_out_of_the_project_and_its_spec_out_of_git(self, project, compiled):
        assert "kfp" not in (project.path / "pyproject.toml").read_text()
        assert 'name = "kfp' not in (project.path / "uv.lock").read_text()
        ignored = project.run("git", "check-ignore", "pipelines/pipeline.yaml")
        assert ignored.strip() == "pipelines/pipeline.yaml"

    def test_kfp_steps_run_the_projects_stages_in_its_image(self, project, compiled):
        spec, mounts = compiled
        name = project.package.replace("_", "-")
        stages = self.stages(project)
        assert spec["pipelineInfo"]["name"] == f"{name}-training"
        parameters = spec["root"]["inputDefinitions"]["parameters"]
        assert {key: value["defaultValue"] for key, value in parameters.items()} == {
            "image": f"ghcr.io/OWNER/{name}:latest",
            "mlflow_tracking_uri": "http://mlflow.mlflow.svc.cluster.local:5000",
            "volume_size": "1Gi",
        }
        components = {key.removeprefix("comp-") for key in spec["components"]}
        assert components == {*stages, "keep-records", "createpvc", "deletepvc"}

        executors = spec["deploymentSpec"]["executors"]
        for stage in stages:
            container = executors[f"exec-{stage}"]["container"]
            assert container["command"] == ["env", KFP_TRACKING, project.package], stage
            assert container["args"] == [stage]
        records = executors["exec-keep-records"]["container"]
        assert records["command"] == ["tar", "-czf", KFP_RECORDS, "audit", "reports", "outputs"]

        dockerfile = (project.path / "Dockerfile").read_text()
        workdir = [args for keyword, args in instructions(dockerfile) if keyword == "WORKDIR"][-1]
        for step in [*stages, "keep-records"]:
            assert executors[f"exec-{step}"]["container"]["image"] == KFP_IMAGE, step
            mounted = {m["mountPath"]: m["subPath"] for m in mounts[f"exec-{step}"]["pvcMount"]}
            assert mounted == {f"{workdir}/{folder}": folder for folder in KFP_MOUNTED}, step
        # validate imports pandera, an extra the image installs for the pipeline.
        assert "validation" in read_image(project.path / "Dockerfile").install

    def test_kfp_steps_run_one_after_another_uncached(self, project, compiled):
        spec, _ = compiled
        stages = self.stages(project)
        order = ["createpvc", *stages, "keep-records", "deletepvc"]
        tasks = spec["root"]["dag"]["tasks"]
        assert set(tasks) == set(order)
        for before, after in itertools.pairwise(order):
            assert before in tasks[after]["dependentTasks"], (before, after)
        for name, task in tasks.items():
            assert "enableCache" not in task["cachingOptions"], f"{name} is cached"
            given = task.get("inputs", {}).get("parameters", {})
            if name in stages:
                uri = given["mlflow_tracking_uri"]
                assert uri == {"componentInputParameter": "mlflow_tracking_uri"}, name
            if name in [*stages, "keep-records"]:
                image = given["pipelinechannel--image"]
                assert image == {"componentInputParameter": "image"}, name

    def test_kfp_run_without_a_reachable_host_fails_in_one_line(self, project, compiled):
        unset = project.run("env", "-u", "KFP_HOST", "make", "kfp-run", check=False)
        nobody = {"KFP_HOST": f"http://127.0.0.1:{free_port()}", "MLFLOW_TRACKING_URI": "http://m"}
        unreachable = project.run("make", "kfp-run", check=False, env=nobody)
        local_store = {**nobody, "MLFLOW_TRACKING_URI": "sqlite:///mlflow.db"}
        local = project.run("make", "kfp-run", check=False, env=local_store)
        for output, reason in (
            (unset, "error: KFP_HOST is not set"),
            (unreachable, f"error: cannot start a run on {nobody['KFP_HOST']}: "),
            (local, "error: MLFLOW_TRACKING_URI=sqlite:///mlflow.db is on this machine"),
        ):
            errors = [line for line in output.splitlines() if line.startswith("error:")]
            assert len(errors) == 1 and errors[0].startswith(reason), output
            assert "Error 1" in output and "Traceback" not in output


class TemplateUpdatesChecks:
    """The weekly workflow that opens a pull request with the template's newest release."""

    def test_the_workflow_is_valid_least_privilege_and_weekly(self, project):
        path = project.path / ".github" / "workflows" / "template-update.yml"
        check_jsonschema(path, "vendor.github-workflows")
        actionlint(project.path)
        workflow = yaml.safe_load(path.read_text())
        assert workflow[True]["schedule"][0]["cron"] and "workflow_dispatch" in workflow[True]
        assert workflow["permissions"] == {}
        (job,) = workflow["jobs"].values()
        assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
        steps = " ".join(step.get("run", "") for step in job["steps"])
        assert "copier update --trust --defaults --conflict inline" in steps
        assert "gh pr create" in steps and "Conflicts to resolve" in steps


class EachTestFileAlone(RenderedProject):
    """Every test file of the project passes run by itself, with nothing set up before.

    A class of its own, with a project of its own, so that xdist runs it beside the
    variant's other checks rather than after them.
    """

    def test_each_test_file_passes_alone(self, project):
        for test_file in sorted((project.path / "tests").glob("test_*.py")):
            relative = str(test_file.relative_to(project.path))
            output = project.run(".venv/bin/pytest", "-q", "-p", "no:cacheprovider", relative)
            assert " passed" in output, relative


# The checks of each feature; a variant's class is composed of those of its features.
FEATURE_CHECKS: dict[str, type] = {
    "pipeline": PipelineChecks,
    "registry": RegistryChecks,
    "ci": CIChecks,
    "online": OnlineChecks,
    "dvc": DvcChecks,
    "local_remote": LocalRemoteChecks,
    "cloud_remote": CloudRemoteChecks,
    "validation": ValidationChecks,
    "lineage": LineageChecks,
    "model_card": ModelCardChecks,
    "audit": AuditChecks,
    "docker": DockerChecks,
    "cd": CDChecks,
    "repo_governance": RepoGovernanceChecks,
    "drift": DriftChecks,
    "continuous_training": ContinuousTrainingChecks,
    "service_metrics": ServiceMetricsChecks,
    "input_sampling": InputSamplingChecks,
    "challenger_traffic": ChallengerTrafficChecks,
    "template_updates": TemplateUpdatesChecks,
    "monitoring": MonitoringChecks,
    "kubernetes": KubernetesChecks,
    "kubeflow": KubeflowChecks,
}


def test_every_feature_has_its_checks():
    assert set(FEATURE_CHECKS) == set(FEATURES)


# Running each test file alone costs a project's whole test time again: it is done for
# the variant with the most features, whose test files include every other variant's.
RICHEST = max(variants(), key=lambda variant: len(set(variant.has)))


def checks_for(variant: Variant) -> tuple[type, ...]:
    """The check groups of the variant's features, most specific first, then the base."""
    groups = [FEATURE_CHECKS[name] for name in variant.has if name in FEATURE_CHECKS]
    return (*reversed(groups), ProjectChecks)


def repeated_checks(variant: Variant, checks: tuple[type, ...]) -> dict[str, None]:
    """The once-per-level checks a variant leaves to its level's first variant (as None)."""
    first = next(other for other in variants() if other.level == variant.level)
    if variant == first:
        return {}
    return {
        name: None
        for group in checks
        for name, test in vars(group).items()
        if getattr(test, "once_per_level", False)
    }


for _variant in variants():
    _name = "Test" + _variant.id.replace("-", "_")
    _checks = checks_for(_variant)
    _body = {"variant": _variant, **repeated_checks(_variant, _checks)}
    globals()[_name] = type(_name, _checks, _body)

_name = "Test" + RICHEST.id.replace("-", "_") + "_each_file_alone"
globals()[_name] = type(_name, (EachTestFileAlone,), {"variant": RICHEST})
