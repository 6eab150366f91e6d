"""What every generated project is checked for, and what the checks of the features share."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from extensions.ladder import next_level
from harness.matrix import Variant, expected_targets
from harness.project import Project, render, share_bytecode

PROMETHEUS = Path("monitoring") / "prometheus"
CHECK_RUN = """
import json, sys, mlflow
from mlflow.tracking import MlflowClient
mlflow.set_tracking_uri("sqlite:///mlflow.db")
run = mlflow.get_run(sys.argv[1])
model = mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/model")
artifacts = [item.path for item in MlflowClient().list_artifacts(run.info.run_id, "plots")]
splits = mlflow.artifacts.load_dict(f"runs:/{run.info.run_id}/data/splits.json")
print(json.dumps({
    "experiment": mlflow.get_experiment(run.info.experiment_id).name,
    "params": run.data.params,
    "metrics": run.data.metrics,
    "plots": sorted(artifacts),
    "model": type(model).__name__,
    "splits": splits,
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


# Points an alias at a version directly (`champion`, as `make promote` does once a person
# approved; `challenger`, as a retraining does): for checks whose subject is not the
# approval (a workspace's store has no trail).
SET_ALIAS = """
import json, sys, mlflow
from {package}.config import MODEL_NAME
mlflow.set_tracking_uri("sqlite:///mlflow.db")
mlflow.MlflowClient().set_registered_model_alias(MODEL_NAME, sys.argv[1], sys.argv[2])
print(json.dumps(sys.argv[2]))
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
    "model_card": r"reports/model_cards/[\w-]+-v\d+(\.md|-reliability\.png)",
    "dvc": r"dvc\.lock|data/raw/(data\.csv\.dvc|\.gitignore)",
}


REGISTERED = re.compile(r"Registered version (\d+) of \S+ as (champion|challenger)")


TRAINED = re.compile(r"Trained and tracked run (\w+)")


def registered(output: str) -> tuple[str, str]:
    """(version, role) from a registration's output line."""
    match = REGISTERED.search(output)
    assert match, output
    return match.group(1), match.group(2)


# A check whose code path is the same for every answer at a level: stages, the registry,
# the audit trail and the drift check run the same code whatever `serving`, `data_remote`
# or `orchestrator` say, so it runs in one variant per level (the level's first in the
# matrix), and shows as deselected in the others.
once_per_level = pytest.mark.once_per_level


def only_where(applies, why: str):
    """A check that runs in the variants whose features `applies(has)` accepts, and shows
    as deselected in the others (before any of its fixtures is set up); `why` says why."""
    return pytest.mark.only_where(applies, why)


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
        share_bytecode(generated.path / ".venv")  # for the jobs' and copies' own setups
        generated.git_commit_all("Lock the dependencies")  # uv.lock, as the README says
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
        # A test stuck for 5 minutes prints every thread's stack (where it hangs).
        addopts = "-p reverse_order -o faulthandler_timeout=300"
        reversed_run = {"PYTHONPATH": str(tmp_path), "PYTEST_ADDOPTS": addopts}
        output = project.run("make", "test", env=reversed_run, timeout=1200)
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
        rows = {split: record["rows"] for split, record in run["splits"].items()}
        assert rows == {"train": 455, "test": 114}, "the breast-cancer data, split 80/20"

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
        project.run(".venv/bin/ruff", "format", "--check", ".")


class EachTestFileAlone(RenderedProject):
    """Every test file of the project passes run by itself, with nothing set up before.

    A class of its own, with a project of its own, so that xdist runs it beside the
    variant's other checks rather than after them.
    """

    def test_each_test_file_passes_alone(self, project):
        files = [
            str(path.relative_to(project.path))
            for path in sorted((project.path / "tests").glob("test_*.py"))
        ]
        output = project.run(".venv/bin/python", "-c", EACH_FILE_ALONE, *files, timeout=1800)
        failed = re.search(r"^Failed alone: (.*)$", output, re.MULTILINE)
        assert failed and json.loads(failed[1]) == [], output


# Runs pytest on each test file in a process of its own, forked from one that imported the
# heavy third-party libraries once: each file still starts with none of the project's
# modules or fixtures loaded, without paying for MLflow's and scikit-learn's imports each
# time. Prints the files that failed, on a line of its own.
EACH_FILE_ALONE = """
import json, os, sys
import pytest
for module in ("mlflow", "sklearn", "pandas", "fastapi", "evidently", "pandera.pandas"):
    try:
        __import__(module)
    except ImportError:  # a level without it
        pass
failed = []
for path in sys.argv[1:]:
    pid = os.fork()
    if pid == 0:
        os._exit(int(pytest.main(["-q", "-p", "no:cacheprovider", path])))
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        failed.append(path)
print("Failed alone:", json.dumps(failed))
"""


def tool(name: str) -> str:
    """A linter installed in the template's own environment (hadolint, actionlint)."""
    return str(Path(sys.executable).parent / name)


def actionlint(project_path: Path) -> None:
    """actionlint over every workflow of the project (it finds .github/workflows itself)."""
    result = subprocess.run([tool("actionlint")], cwd=project_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def step_script(workflow: Path, job: str, step: str) -> list[str]:
    """The command that runs step `step` of `job` as a runner does: `bash -e` unless the
    step, its job or the workflow sets `shell: bash`, which GitHub runs with pipefail."""
    parsed = yaml.safe_load(workflow.read_text())
    steps = parsed["jobs"][job]["steps"]
    (found,) = [item for item in steps if item.get("name") == step]
    shell = (
        found.get("shell")
        or parsed["jobs"][job].get("defaults", {}).get("run", {}).get("shell")
        or parsed.get("defaults", {}).get("run", {}).get("shell")
    )
    assert shell in (None, "bash"), f"{workflow.name}: a shell the runner runs differently"
    options = ["-eo", "pipefail"] if shell == "bash" else ["-e"]
    return ["bash", "--noprofile", "--norc", *options, "-c", found["run"]]


def strict_params(project: Project, folder: Path) -> Path:
    """A copy of the project's params.yaml with a gate no model passes."""
    params = yaml.safe_load((project.path / "params.yaml").read_text())
    params["gate"]["thresholds"]["roc_auc"] = 0.9999
    strict = folder / "strict.yaml"
    strict.write_text(yaml.safe_dump(params))
    return strict
