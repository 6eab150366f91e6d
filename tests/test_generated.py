"""Each variant, rendered and set up for real: its own lint, tests and jobs pass.

One project per variant is rendered and installed once (module-scoped fixture, one
xdist worker per variant); the tests below then run its commands in order.
"""

from __future__ import annotations

import pytest

from tests.matrix import Variant, params
from tests.project import Project, render

pytestmark = pytest.mark.slow

CHECK_RUN = """
import json, mlflow
from mlflow.tracking import MlflowClient
mlflow.set_tracking_uri("sqlite:///mlflow.db")
runs = mlflow.search_runs(search_all_experiments=True, output_format="list")
run = runs[0]
model = mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/model")
artifacts = [item.path for item in MlflowClient().list_artifacts(run.info.run_id, "plots")]
print(json.dumps({
    "runs": len(runs),
    "experiment": mlflow.get_experiment(run.info.experiment_id).name,
    "params": run.data.params,
    "metrics": run.data.metrics,
    "plots": sorted(artifacts),
    "model": type(model).__name__,
}))
"""


@pytest.fixture(scope="module", params=params(marks_slow=True))
def project(request, template, tmp_path_factory) -> tuple[Variant, Project]:
    variant: Variant = request.param
    generated = render(template, tmp_path_factory.mktemp(variant.id) / "project", **variant.data)
    generated.git_commit_all("Render the template")
    generated.make("setup")
    return variant, generated


def test_lint_and_own_tests_pass(project):
    _, generated = project
    generated.make("lint")
    output = generated.make("test")
    assert " passed" in output and "failed" not in output


def test_train_tracks_a_run_with_params_metrics_plots_and_model(project):
    variant, generated = project
    generated.make("train")
    run = generated.python(CHECK_RUN)
    assert run["runs"] == 1
    assert run["experiment"] == variant.answers["project_name"]
    expected_params = {"data.test_size", "data.random_state", "model.C", "model.max_iter"}
    assert expected_params <= set(run["params"])
    assert {"accuracy", "precision", "recall", "f1", "roc_auc"} <= set(run["metrics"])
    assert run["metrics"]["roc_auc"] > 0.95
    assert run["plots"] == ["plots/confusion_matrix.png", "plots/roc_curve.png"]
    assert run["model"] == "Pipeline"


def test_predict_writes_predictions(project):
    _, generated = project
    generated.make("predict")
    lines = (generated.path / "predictions.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert header[-2:] == ["prediction", "probability"]
    assert len(lines) == 1 + 20


def test_jobs_leave_the_work_tree_clean(project):
    """Outputs (the MLflow store, predictions) are ignored; only uv.lock is new."""
    _, generated = project
    status = generated.run("git", "status", "--porcelain", "--untracked-files=all")
    assert status.split() == ["??", "uv.lock"], status


def test_formatter_changes_nothing(project):
    _, generated = project
    generated.run(".venv/bin/ruff", "format", ".")
    assert generated.run("git", "diff", "--stat") == ""
