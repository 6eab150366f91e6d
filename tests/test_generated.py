"""Each variant, rendered and set up for real: its own lint, tests and jobs pass.

Each variant is a test class (TestL1, TestL2_online, ...): its project is rendered and
installed once (class-scoped fixture) and the tests then run its commands in order.
`--dist loadscope` keeps a class on one xdist worker.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.matrix import Variant, variants
from tests.project import Project, check_jsonschema, get_json, post_json, render

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


def needs(variant: Variant, feature: str) -> None:
    if not getattr(variant.features, feature):
        pytest.skip(f"{variant.id} has no {feature}")


class GeneratedProject:
    """The checks every rendered variant goes through; subclassed once per variant."""

    variant: Variant

    @pytest.fixture(scope="class")
    @classmethod
    def project(cls, template, tmp_path_factory) -> tuple[Variant, Project]:
        variant = cls.variant
        path = tmp_path_factory.mktemp(variant.id) / "project"
        generated = render(template, path, **variant.data)
        generated.git_commit_all("Render the template")
        generated.make("setup")
        return variant, generated

    def test_lint_and_own_tests_pass(self, project):
        _, generated = project
        generated.make("lint")
        output = generated.make("test")
        assert " passed" in output and "failed" not in output

    def test_environment_runs_the_chosen_python(self, project):
        variant, generated = project
        version = generated.run(".venv/bin/python", "--version").split()[1]
        assert version.startswith(variant.answers["python_version"] + ".")
        assert (
            f'requires-python = ">={variant.answers["python_version"]}"'
            in (generated.path / "pyproject.toml").read_text()
        )

    def test_train_tracks_a_run_with_params_metrics_plots_and_model(self, project):
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

    def test_pipeline_registers_a_champion(self, project):
        variant, generated = project
        needs(variant, "pipeline")
        output = generated.make("pipeline")
        assert "Registered version 1 " in output and "as champion" in output
        aliases = generated.python(
            "import json, mlflow; mlflow.set_tracking_uri('sqlite:///mlflow.db');"
            f"from {generated.answers['package_name']}.config import MODEL_NAME;"
            "print(json.dumps(mlflow.MlflowClient().get_registered_model(MODEL_NAME).aliases))"
        )
        assert aliases == {"champion": 1, "challenger": 1}

    def test_stages_also_run_one_by_one(self, project):
        variant, generated = project
        needs(variant, "pipeline")
        command = [".venv/bin/" + generated.answers["package_name"]]
        assert "data/prepared/train.csv" in generated.run(*command, "prepare")
        trained = re.search(r"Trained and tracked run (\w+)", generated.run(*command, "train"))
        run_id = trained.group(1)
        assert "Gate passed: accuracy" in generated.run(*command, "evaluate", "--run-id", run_id)
        registered = generated.run(*command, "register", "--run-id", run_id)
        assert "Registered version 2 " in registered and "as challenger" in registered
        missing = generated.run(*command, "evaluate", "--run-id", "nosuchrun", check=False)
        assert "error: No run 'nosuchrun'" in missing and "Traceback" not in missing

    def test_predict_writes_predictions(self, project):
        _, generated = project
        generated.make("predict")
        lines = (generated.path / "predictions.csv").read_text().splitlines()
        header = lines[0].split(",")
        assert header[-2:] == ["prediction", "probability"]
        assert len(lines) == 1 + 20

    def test_gate_stops_the_pipeline_when_thresholds_are_raised(self, project):
        variant, generated = project
        needs(variant, "pipeline")
        params = generated.path / "params.yaml"
        original = params.read_text()
        params.write_text(original.replace("roc_auc: 0.95", "roc_auc: 0.9999"))
        try:
            result = generated.run("make", "pipeline", check=False)
        finally:
            params.write_text(original)
        assert "Error 1" in result
        assert "failed the evaluation gate: roc_auc = 0." in result
        assert "is below the threshold 0.9999" in result

    def test_jobs_leave_the_work_tree_clean(self, project):
        """Outputs (the MLflow store, predictions) are ignored; only uv.lock is new."""
        _, generated = project
        status = generated.run("git", "status", "--porcelain", "--untracked-files=all")
        assert status.split() == ["??", "uv.lock"], status

    def test_formatter_changes_nothing(self, project):
        _, generated = project
        generated.run(".venv/bin/ruff", "format", ".")
        assert generated.run("git", "diff", "--stat") == ""

    def test_ci_workflow_matches_the_github_schema(self, project):
        variant, generated = project
        needs(variant, "ci")
        workflow = generated.path / ".github" / "workflows" / "ci.yml"
        check_jsonschema(workflow, "vendor.github-workflows")

    def test_pre_commit_hooks_pass_on_the_rendered_project(self, project):
        variant, generated = project
        needs(variant, "ci")
        generated.run(".venv/bin/pre-commit", "validate-config")
        generated.run(".venv/bin/pre-commit", "run", "--all-files")

    def test_make_serve_answers_on_the_configured_port(self, project):
        variant, generated = project
        needs(variant, "online")
        with generated.serving() as url:
            assert get_json(f"{url}/health") == (200, {"status": "ok"})
            status, ready = get_json(f"{url}/ready")
            assert status == 200 and ready["model_version"] == "1"
            example = (generated.path / "examples" / "request.json").read_bytes()
            status, answer = post_json(f"{url}/predict", example)
            assert status == 200 and answer["predictions"] in ([0], [1])
            status, refused = post_json(f"{url}/predict", b'{"instances": [{"mean_radius": "x"}]}')
            assert status == 422 and "mean_radius" in json.dumps(refused)
            assert get_json(f"{url}/health")[0] == 200, "a refused request leaves the service up"


for _variant in variants():
    _name = "Test" + _variant.id.replace("-", "_")
    globals()[_name] = type(_name, (GeneratedProject,), {"variant": _variant})
