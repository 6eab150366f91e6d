"""`mlops-ladder doctor` and `adopt`: on every rendered variant, on repositories the template
did not make (tests/doctor_repos), on malformed input; the ML Test Score rules one by one."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from extensions.ladder import EVIDENCE, FEATURES, FeatureTableError, check_evidence
from harness.matrix import rendered_only, variants
from harness.project import render
from mlops_ladder import cli, repository
from mlops_ladder.doctor import BELOW, OK, UNUSABLE, examine
from mlops_ladder.evidence import evidence
from mlops_ladder.score import BY_ID, TESTS, AttestationError, read_attestations, result

FOREIGN = Path(__file__).parent / "doctor_repos"
# The level each foreign repository meets, and a feature its report names as missing.
FOREIGN_LEVELS = {
    "ccds-v2": (0, "tracking"),
    "mlops-python-package": (1, "pipeline"),
    "notebook-research": (0, "training"),
}
# Per level, a feature of that level and the files whose removal takes its evidence away.
REMOVALS = {
    1: ("tasks", ["Makefile"]),
    2: ("ci", [".pre-commit-config.yaml"]),
    3: ("docker", ["Dockerfile"]),
    4: ("monitoring", ["monitoring/prometheus/prometheus.yml"]),
}


def doctor(path: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = cli.main(["doctor", str(path), *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


# --- The feature table's evidence ------------------------------------------------------


def test_every_feature_has_evidence(monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(EVIDENCE) == set(FEATURES)
    monkeypatch.delitem(EVIDENCE, "drift")
    with pytest.raises(FeatureTableError, match="drift"):
        check_evidence()


# --- Every rendered variant --------------------------------------------------------------


@pytest.mark.parametrize(
    "variant", [pytest.param(v, id=v.id) for v in [*variants(), *rendered_only()]]
)
def test_doctor_reports_the_variants_level_and_features(
    variant: Any, template: Path, tmp_path: Path
) -> None:
    project = render(template, tmp_path / "project", **variant.answers)
    report = examine(project.path)
    assert report["level"] == variant.level
    present = {name for name, found in report["features"].items() if found["present"]}
    assert present & set(FEATURES) == set(variant.has)
    assert not report["problems"]

    # A feature removed by hand drops the level, and the report names it.
    feature, files = REMOVALS[variant.level]
    for name in files:
        (project.path / name).unlink()
    report = examine(project.path)
    assert report["level"] == variant.level - 1
    assert feature in [item["feature"] for item in report["next_level"]["missing"]]


# --- Repositories the template did not make ------------------------------------------------


@pytest.mark.parametrize("name", sorted(FOREIGN_LEVELS))
def test_doctor_on_foreign_repositories(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    level, missing = FOREIGN_LEVELS[name]
    status, out, err = doctor(FOREIGN / name, "--format", "json", capsys=capsys)
    assert (status, err) == (OK, "")
    report = json.loads(out)
    assert report["level"] == level
    assert missing in [item["feature"] for item in report["next_level"]["missing"]]
    assert 0 <= report["score"]["final"] < 1
    assert not report["problems"]


def test_the_package_style_project_earns_its_score() -> None:
    report = examine(FOREIGN / "mlops-python-package")
    found = {t["id"]: t["status"] for t in report["score"]["tests"]}
    # its CI runs the tests (mise run test), Dependabot watches its dependencies
    assert found["infra-2"] == found["monitor-1"] == "automated"
    # its pandera schemas are there, but no workflow runs its training
    assert found["data-1"] == "found, not automated"
    assert found["infra-4"] == "not found"
    assert report["features"]["registry"]["present"]
    assert report["features"]["docker"]["present"] and report["features"]["cd"]["present"]


# --- Malformed input ---------------------------------------------------------------------


def test_malformed_repository_gets_a_report_and_clear_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write(
        tmp_path / "repo",
        {
            ".github/workflows/ci.yml": "on: [push\njobs:\n  test:\n    steps: - run: pytest\n",
            "pyproject.toml": '[project\nname = "broken"\n',
            "train.py": b"import mlflow\x00\xff\xfe binary\x00",
            "model.pkl": bytes(range(256)) * 64,
            "Makefile": "train:\n\tpython train.py\n",
        },
    )
    with (root / "huge.csv").open("wb") as huge:  # a sparse file past MAX_TEXT
        huge.truncate(repository.MAX_TEXT * 50)
    (root / "loop").symlink_to(root, target_is_directory=True)
    (root / "a").mkdir()
    (root / "a" / "b").symlink_to(root / "a", target_is_directory=True)
    (root / "dangling.py").symlink_to(root / "nowhere.py")
    for index in range(30):
        write(root, {f"many/file_{index}.txt": "x"})
    monkeypatch.setattr(repository, "MAX_FILES", 20)

    for output in ("table", "markdown", "json"):
        status, out, err = doctor(root, "--format", output, capsys=capsys)
        assert status == OK, err
        assert "Traceback" not in out + err
    report = json.loads(out)
    problems = "\n".join(report["problems"])
    assert ".github/workflows/ci.yml is not valid YAML (line 2)" in problems
    assert "pyproject.toml is not valid TOML" in problems
    assert "more than 20 files" in problems
    assert report["features"]["training"]["present"]  # train.py is there, binary or not
    assert not report["features"]["tracking"]["present"]  # its text was not read


def test_a_path_that_is_no_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = doctor(tmp_path / "missing", capsys=capsys)
    assert status == UNUSABLE
    assert "is not a folder; give the path of a repository" in err


# --- Outputs and exit statuses -----------------------------------------------------------


def test_min_level_and_min_score_gate(capsys: pytest.CaptureFixture[str]) -> None:
    package = FOREIGN / "mlops-python-package"
    assert doctor(package, "--min-level", "1", capsys=capsys)[0] == OK
    status, out, err = doctor(package, "--min-level", "2", "--format", "markdown", capsys=capsys)
    assert status == BELOW
    assert "level 1 is below --min-level 2" in err
    assert out.startswith("## MLOps ladder: mlops-python-package")
    status, _, err = doctor(package, "--min-score", "0.5", capsys=capsys)
    assert status == BELOW
    assert "ML Test Score 0 is below --min-score 0.5" in err


def test_the_recommendation_stands_beside_the_evidence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = write(tmp_path, {"answers.yml": "project_stage: production\ncompliance: true\n"})
    status, out, _ = doctor(
        FOREIGN / "ccds-v2",
        "--answers",
        str(answers / "answers.yml"),
        "--format",
        "markdown",
        capsys=capsys,
    )
    assert status == OK
    assert "Recommended level: 3 (Governed)" in out
    assert "the evidence shows level 0" in out
    bad = write(tmp_path, {"bad.yml": "team_size: huge\n"})
    status, _, err = doctor(FOREIGN / "ccds-v2", "--answers", str(bad / "bad.yml"), capsys=capsys)
    assert status == UNUSABLE
    assert "team_size is 'huge'; choose one of solo, small, large" in err


# --- The ML Test Score, one rule at a time --------------------------------------------------

CI = {
    ".github/workflows/ci.yml": "on: [push]\njobs:\n  check:\n    runs-on: ubuntu-latest\n"
    "    steps:\n      - run: make test\n      - run: make pipeline\n"
}
SCHEDULED = {
    ".github/workflows/drift.yml": "on:\n  schedule:\n    - cron: '0 6 * * *'\njobs:\n"
    "  drift:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make drift\n"
}


def deps(*names: str) -> dict[str, str]:
    listed = ", ".join(f'"{name}"' for name in names)
    return {"pyproject.toml": f'[project]\nname = "m"\ndependencies = [{listed}]\n'}


SERVICE = {**deps("fastapi"), "src/m/app.py": '@app.post("/predict")\ndef predict(): ...\n'}
# For each test the files can show: a repository where it earns its point, and the file
# whose removal takes it away.
SCORE_CASES: dict[str, tuple[dict[str, str], str]] = {
    "data-1": ({**CI, **deps("pandera")}, "pyproject.toml"),
    "data-7": ({**CI, "tests/test_data.py": "def test_load(): ...\n"}, "tests/test_data.py"),
    "model-1": (
        {".github/CODEOWNERS": "* @ml-team\n", ".github/dependabot.yml": "version: 2\n"},
        ".github/CODEOWNERS",
    ),
    "model-3": (
        {**CI, "src/m/tune.py": "from sklearn.model_selection import GridSearchCV\n"},
        "src/m/tune.py",
    ),
    "model-5": (
        {**CI, "src/m/evaluate.py": "from sklearn.dummy import DummyClassifier\n"},
        "src/m/evaluate.py",
    ),
    "model-6": (
        {**CI, "src/m/evaluate.py": "# recall on each data slice of the customers\n"},
        "src/m/evaluate.py",
    ),
    "model-7": ({**CI, **deps("fairlearn")}, "pyproject.toml"),
    "infra-1": (
        {**CI, "params.yaml": "random_state: 42\n", "dvc.yaml": "stages: {}\n", ".dvc/config": ""},
        "dvc.yaml",
    ),
    "infra-2": ({**CI, "tests/test_model.py": "def test_fit(): ...\n"}, "tests/test_model.py"),
    "infra-3": (CI, ".github/workflows/ci.yml"),
    "infra-4": ({**CI, "src/m/prepare.py": "", "src/m/evaluate.py": ""}, "src/m/prepare.py"),
    "infra-6": ({**SERVICE, "src/m/canary.py": ""}, "src/m/canary.py"),
    "infra-7": (
        {
            "src/m/registry.py": "client.set_registered_model_alias(NAME, 'champion', 3)\n",
            "src/m/promote.py": "",
            ".github/workflows/cd.yml": "on: [workflow_dispatch]\njobs:\n  promote:\n"
            "    runs-on: ubuntu-latest\n    steps:\n      - run: make promote\n",
        },
        ".github/workflows/cd.yml",
    ),
    "monitor-1": ({".github/dependabot.yml": "version: 2\n"}, ".github/dependabot.yml"),
    "monitor-2": ({**CI, **deps("pandera")}, ".github/workflows/ci.yml"),
    "monitor-3": ({**SCHEDULED, **deps("evidently")}, ".github/workflows/drift.yml"),
    "monitor-4": (
        {
            ".github/workflows/retrain.yml": "on:\n  schedule:\n    - cron: '0 4 * * 1'\n"
            "  repository_dispatch:\n    types: [drift-detected]\njobs:\n  retrain:\n"
            "    runs-on: ubuntu-latest\n    steps:\n      - run: make retrain\n"
        },
        ".github/workflows/retrain.yml",
    ),
    "monitor-6": (
        {
            "monitoring/alerts.yml": "groups:\n  - name: service\n    rules:\n"
            "      - alert: HighLatency\n        expr: histogram_quantile(0.99, "
            "rate(request_duration_seconds_bucket[5m])) > 0.5\n"
        },
        "monitoring/alerts.yml",
    ),
    "monitor-7": ({**SCHEDULED, **deps("evidently")}, "pyproject.toml"),
}


def test_every_checkable_test_has_a_case() -> None:
    assert set(SCORE_CASES) == {test.id for test in TESTS if test.checkable}
    assert len(TESTS) == 28


@pytest.mark.parametrize("test_id", sorted(SCORE_CASES))
def test_score_rule_positive_and_negative(test_id: str, tmp_path: Path) -> None:
    files, removed = SCORE_CASES[test_id]
    positive = write(tmp_path / "positive", files)
    outcome = result(evidence(positive), BY_ID[test_id], None)
    assert (outcome.points, outcome.status) == (1.0, "automated"), outcome.detail
    negative = write(tmp_path / "negative", {k: v for k, v in files.items() if k != removed})
    outcome = result(evidence(negative), BY_ID[test_id], None)
    assert outcome.points == 0, outcome


def test_found_but_not_automated_earns_nothing(tmp_path: Path) -> None:
    root = write(tmp_path, {"tests/test_data.py": "def test_load(): ...\n"})
    outcome = result(evidence(root), BY_ID["data-7"], None)
    assert (outcome.points, outcome.status) == (0.0, "found, not automated")
    assert "a workflow runs the tests" in outcome.detail


# --- Attestations -------------------------------------------------------------------------


def test_attested_tests_earn_half_a_point(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write(
        tmp_path,
        {
            "docs/ablation.md": "Every feature removed in turn: all help.\n",
            "mltestscore.yaml": "attestations:\n"
            "  - test: data-2\n    evidence: docs/ablation.md\n    date: 2026-01-12\n"
            "  - test: model-2\n    evidence: https://wiki.example.com/ab-test\n"
            "    date: '2026-02-01'\n",
        },
    )
    status, out, _ = doctor(root, "--format", "json", capsys=capsys)
    assert status == OK
    tests = {test["id"]: test for test in json.loads(out)["score"]["tests"]}
    assert (tests["data-2"]["points"], tests["data-2"]["status"]) == (0.5, "attested")
    assert tests["data-2"]["detail"] == "docs/ablation.md (2026-01-12)"
    assert tests["model-2"]["points"] == 0.5
    assert json.loads(out)["score"]["sections"]["data"] == 0.5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("attestations: [\n", "mltestscore.yaml is not valid YAML at line 2"),
        ("- test: data-2\n", "must hold a list under `attestations:`"),
        (
            "attestations:\n  - {test: data-9, evidence: 'https://x.example', date: 2026-01-01}\n",
            "attestation 1: test 'data-9' is not an ML Test Score test; did you mean data-7?",
        ),
        (
            "attestations:\n  - {test: data-2, date: 2026-01-01}\n",
            "attestation 1: evidence is missing; give a link or a path to the result",
        ),
        (
            "attestations:\n  - {test: data-2, evidence: nowhere.md, date: 2026-01-01}\n",
            "evidence 'nowhere.md' is neither an http(s) link nor a file of the repository",
        ),
        (
            "attestations:\n  - {test: data-2, evidence: 'https://x.example', date: soon}\n",
            "date 'soon' is not a date; write it as YYYY-MM-DD",
        ),
        (
            "attestations:\n  - {test: data-2, evidence: 'https://x.example', date: 2999-01-01}\n",
            "date 2999-01-01 is in the future",
        ),
        (
            "attestations:\n  - {test: data-2, evidence: 'https://x.example', date: 2026-01-01}\n"
            "  - {test: data-2, evidence: 'https://x.example', date: 2026-01-02}\n",
            "attestation 2: data-2 is attested twice; keep one entry per test",
        ),
        (
            "attestations:\n  - {test: data-2, evidence: 'https://x.example', date: 2026-01-01,"
            " by: me}\n",
            "unknown key(s) ['by']",
        ),
    ],
)
def test_attestations_are_validated(
    content: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, {"mltestscore.yaml": content})
    with pytest.raises(AttestationError, match=None) as raised:
        read_attestations(tmp_path)
    assert message in str(raised.value)
    status, out, err = doctor(tmp_path, capsys=capsys)
    assert (status, out) == (UNUSABLE, "")
    assert message in err


# --- repo-review ---------------------------------------------------------------------------


def test_repo_review_runs_the_checks() -> None:
    """The checks are repo-review plugins: its own runner finds and runs them."""
    from repo_review.processor import process

    families, results = process(FOREIGN / "mlops-python-package")
    assert "mlops-level-2" in families and "mltestscore-data" in families
    by_name = {r.name: r for r in results}
    assert by_name["MLL103"].result is True  # tracking: MLflow is a dependency
    assert by_name["MLL201"].result is False  # pipeline: no preparation step
    assert "Not found: a data preparation step" in by_name["MLL201"].err_msg


def test_the_docs_state_what_the_code_does() -> None:
    text = (Path(__file__).parents[1] / "docs" / "doctor.md").read_text(encoding="utf-8")
    for status in (OK, BELOW, UNUSABLE):
        assert f"\n| {status} | " in text
    attest_only = [test.id for test in TESTS if not test.checkable]
    assert attest_only == [
        *(f"data-{n}" for n in range(2, 7)),
        "model-2",
        "model-4",
        "infra-5",
        "monitor-5",
    ]
    assert "(data-2 to data-6, model-2, model-4, infra-5, monitor-5)" in text
    assert f"more than {repository.MAX_FILES:,} files" in text


def test_the_maturity_questions_are_asked_on_the_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("small\nmvp\nweekly\nn\n"))
    status, out, _ = doctor(FOREIGN / "ccds-v2", "--ask", "--format", "markdown", capsys=capsys)
    assert status == OK
    assert "How many people work on the models?" in out
    assert "Recommended level: 2 (Automated), from your answers: an MVP ships regularly" in out
