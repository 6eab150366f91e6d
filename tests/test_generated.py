"""Each variant, rendered and set up for real: its own lint, tests and jobs pass.

The checks are grouped by the feature they exercise, and each variant's test class is
composed of the groups for the features it has (TestL1, TestL2_online, ...). The
project is rendered and installed once per class (a class-scoped fixture); every check
then sets up what it needs itself, through fixtures or in a scratch workspace with an
MLflow store of its own, so any one check runs alone and in any order.
`--dist loadscope` keeps a class on one xdist worker.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from extensions.ladder import FEATURES
from tests.matrix import Variant, expected_targets, variants
from tests.project import Project, check_jsonschema, get_json, post_json, render

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
REGISTERED = re.compile(r"Registered version (\d+) of \S+ as (champion|challenger)")
TRAINED = re.compile(r"Trained and tracked run (\w+)")


def registered(output: str) -> tuple[str, str]:
    """(version, role) from a registration's output line."""
    match = REGISTERED.search(output)
    assert match, output
    return match.group(1), match.group(2)


class ProjectChecks:
    """What every project does, whatever its level."""

    variant: Variant

    @pytest.fixture(scope="class")
    @classmethod
    def project(cls, template, tmp_path_factory) -> Project:
        path = tmp_path_factory.mktemp(cls.variant.id) / "project"
        generated = render(template, path, **cls.variant.answers)
        generated.git_commit_all("Render the template")
        generated.make("setup")
        return generated

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
        assert listed == expected_targets(self.variant.has)

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
        """Outputs (the MLflow store, outputs/, predictions) are ignored; only uv.lock is new."""
        project.make("predict")
        lines = (project.path / "predictions.csv").read_text().splitlines()
        assert lines[0].split(",")[-2:] == ["prediction", "probability"]
        assert len(lines) == 1 + 20
        status = project.run("git", "status", "--porcelain", "--untracked-files=all")
        assert status.split() == ["??", "uv.lock"], status

    def test_formatter_changes_nothing(self, project):
        project.run(".venv/bin/ruff", "format", ".")
        assert project.run("git", "diff", "--stat") == ""


class PipelineChecks:
    """The prepare, train and evaluate stages, each alone in its own process."""

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
        """The version `make pipeline` registered as champion."""
        version, role = registered(project.make("pipeline"))
        assert role == "champion"
        return version

    @pytest.fixture(scope="class")
    @classmethod
    def scoring_model(cls, champion) -> None:
        """`make predict` scores with the champion."""

    def test_pipeline_registers_a_champion(self, project, champion):
        aliases = project.python(ALIASES.format(package=project.package))
        assert aliases["champion"] == champion

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


class CIChecks:
    """The GitHub Actions workflow and the pre-commit hooks."""

    def test_ci_workflow_matches_the_github_schema(self, project):
        check_jsonschema(
            project.path / ".github" / "workflows" / "ci.yml", "vendor.github-workflows"
        )

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


class EachTestFileAlone:
    """Every test file of the project passes run by itself, with nothing set up before."""

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
}


def test_every_feature_has_its_checks():
    assert set(FEATURE_CHECKS) == set(FEATURES)


# Running each test file alone costs a project's whole test time again: it is done for
# the variant with the most features, whose test files include every other variant's.
RICHEST = max(variants(), key=lambda variant: len(set(variant.has)))


def checks_for(variant: Variant) -> tuple[type, ...]:
    """The check groups of the variant's features, most specific first, then the base."""
    alone = (EachTestFileAlone,) if variant == RICHEST else ()
    return (*alone, *reversed([FEATURE_CHECKS[name] for name in variant.has]), ProjectChecks)


for _variant in variants():
    _name = "Test" + _variant.id.replace("-", "_")
    globals()[_name] = type(_name, checks_for(_variant), {"variant": _variant})
