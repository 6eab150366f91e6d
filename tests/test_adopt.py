"""`make doctor` in a generated project, and `mlops-ladder adopt` on the repositories the
template did not make (tests/doctor_repos): nothing of theirs changed, the answers
written, `copier update` climbing afterwards."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jinja2
import pathspec
import pytest
import tomlkit
import yaml

from harness.matrix import ROOT
from harness.project import project_env, render, uv
from mlops_ladder import cli
from mlops_ladder.doctor import OK, UNUSABLE, examine
from mlops_ladder.merge import merge
from tests.test_doctor import FOREIGN

# --- make doctor in a generated project ----------------------------------------------------


@pytest.mark.slow
def test_make_doctor_in_a_generated_project(template: Path, tmp_path: Path) -> None:
    project = render(template, tmp_path / "project", mlops_level=2, serving="online")
    out = project.make("doctor", DOCTOR_ARGS="--format json")
    # the JSON report, then what make says when it runs under make (the suite's `make test`)
    report, _ = json.JSONDecoder().raw_decode(out[out.index("{") :])
    assert report["level"] == 2
    assert "kept_files" not in project.answers  # only adopt records it
    ci = yaml.safe_load((project.path / ".github/workflows/ci.yml").read_text())
    (step,) = [s for s in ci["jobs"]["check"]["steps"] if "make doctor" in s.get("run", "")]
    assert step["run"] == 'make doctor DOCTOR_ARGS="--format markdown" >> "$GITHUB_STEP_SUMMARY"'
    assert step["continue-on-error"] is True

    # A template from GitHub (copier's gh: shorthand, or its https URL) is built from git.
    answers = project.path / ".copier-answers.yml"
    for recorded, built in [
        ("gh:team/mlops-ladder", "git+https://github.com/team/mlops-ladder"),
        (
            "https://example.com/team/mlops-ladder.git",
            "git+https://example.com/team/mlops-ladder.git",
        ),
        (str(template), str(template)),
    ]:
        text = answers.read_text(encoding="utf-8")
        answers.write_text(re.sub(r"(?m)^_src_path: .*$", f"_src_path: {recorded}", text))
        shown = project.run("make", "-s", "--eval", "show-ladder: ; @echo $(LADDER)", "show-ladder")
        assert shown.strip() == built
    answers.write_text(re.sub(r"(?m)^_src_path: .*$", "_src_path: /gone", text))
    refused = project.make("doctor", check=False)
    assert "The template source '/gone' in .copier-answers.yml is not on this machine" in refused
    # copier records the source as typed: `copier copy . <dest>` leaves a relative path.
    answers.write_text(re.sub(r"(?m)^_src_path: .*$", "_src_path: .", text))
    refused = project.make("doctor", check=False)
    assert (
        "The template source '.' in .copier-answers.yml is a relative path, which names no "
        "folder from here: run make doctor LADDER=<the template's path or git URL>"
    ) in refused


def test_repo_review_command_runs_the_checks(tmp_path: Path) -> None:
    """`repo-review PATH` (its own command line) finds the checks through entry points."""
    package = str(FOREIGN / "mlops-python-package")
    command = [sys.executable, "-m", "repo_review", package, "--format", "json"]
    ran = subprocess.run(command, capture_output=True, text=True)
    assert ran.returncode == 3, ran.stderr  # repo-review's status when a check fails
    checks = json.loads(ran.stdout)["checks"]
    assert checks["MLL103"]["result"] is True
    assert checks["MLL201"]["result"] is False
    assert checks["MTSO1"]["result"] is True  # monitor-1: Dependabot


# --- adopt ---------------------------------------------------------------------------------


def git(path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(path), *args], check=True, capture_output=True, text=True
    ).stdout


def committed_copy(name: str, into: Path) -> Path:
    repo = into / name
    shutil.copytree(FOREIGN / name, repo, symlinks=True)
    git(repo, "init", "--quiet")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--message", "their work")
    return repo


@pytest.fixture
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "GIT_AUTHOR_NAME": "Team",
        "GIT_AUTHOR_EMAIL": "team@example.com",
        "GIT_COMMITTER_NAME": "Team",
        "GIT_COMMITTER_EMAIL": "team@example.com",
    }.items():
        monkeypatch.setenv(key, value)


def kept_in_order(original: bytes, now: bytes) -> bool:
    """Every line of the original is still there, in its order (adopt only adds)."""
    lines = iter(now.decode().splitlines())
    return all(line in lines for line in original.decode().splitlines())


def contains(original: object, now: object) -> bool:
    """Every value of the original TOML is still there: tables may gain keys, arrays items
    at their end (an array on one line gains them on that line)."""
    if isinstance(original, dict):
        return isinstance(now, dict) and all(
            key in now and contains(value, now[key]) for key, value in original.items()
        )
    if isinstance(original, list):
        return isinstance(now, list) and now[: len(original)] == original
    return original == now


def only_added(path: str, original: bytes, now: bytes) -> bool:
    if path.endswith(".toml"):
        return contains(tomlkit.parse(original).unwrap(), tomlkit.parse(now).unwrap())
    return kept_in_order(original, now)


# The level adopted, and the files of theirs adopt merges additions into: the
# cookiecutter-data-science project's pyproject.toml lacks MLflow and its Makefile the
# ladder's jobs; the package-style project has MLflow but not the level's other libraries.
ADOPTED = {
    "ccds-v2": (1, {"Makefile", "pyproject.toml"}),
    "mlops-python-package": (1, {"pyproject.toml"}),
    "notebook-research": (1, set()),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ADOPTED))
def test_adopt_a_foreign_repository_then_climb(
    name: str,
    template: Path,
    tmp_path: Path,
    git_identity: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    level, merged = ADOPTED[name]
    repo = committed_copy(name, tmp_path)
    theirs = {path: (repo / path).read_bytes() for path in git(repo, "ls-files").splitlines()}

    status = cli.main(["adopt", str(repo), "--level", str(level), "--template", str(template)])
    out = capsys.readouterr().out
    assert status == OK
    now = {path: (repo / path).read_bytes() for path in theirs}
    assert {path for path in theirs if now[path] != theirs[path]} == merged
    for path in merged:  # additions only: nothing of theirs changed or removed
        assert only_added(path, theirs[path], now[path]), path
        assert f"  {path}: " in out.split("Kept ")[0]
    answers = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    assert answers["mlops_level"] == level and answers["_src_path"] == str(template)
    kept = {path for path in theirs if path in {"Makefile", "README.md", "pyproject.toml"}}
    assert kept <= set(answers.get("kept_files", [])) <= set(theirs)
    assert f"Adopted level {level}" in out
    for path in kept:
        assert f"  {path}: " in out.split("Kept ")[1]
    assert examine(repo)["level"] == level
    assert f"Level met: {level} " in out

    # Later, copier climbs a level over it without a conflict, and leaves their files be.
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--message", "adopt the ladder")
    adopted = {path: (repo / path).read_bytes() for path in theirs}
    env = {**os.environ, **project_env()}
    subprocess.run(
        [
            uv(),
            "run",
            "--project",
            str(Path(__file__).parents[1]),
            "copier",
            "update",
            "--trust",
            "--defaults",
            "--data",
            f"mlops_level={level + 1}",
        ],
        cwd=repo,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert yaml.safe_load((repo / ".copier-answers.yml").read_text())["mlops_level"] == level + 1
    assert (repo / ".github/workflows/template-update.yml").is_file()
    assert git(repo, "ls-files", "--unmerged") == ""
    assert not list(repo.rglob("*.rej"))
    markers = [
        "git",
        "-C",
        str(repo),
        "grep",
        "--untracked",
        "-l",
        "-e",
        "^<<<<<<<",
        "-e",
        "^>>>>>>>",
    ]
    assert subprocess.run(markers, capture_output=True, text=True).stdout == ""
    assert {path: (repo / path).read_bytes() for path in theirs} == adopted
    assert examine(repo)["level"] == level + 1

    # adopt again merges what the new level adds into the files they kept, then nothing.
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--message", f"move up to level {level + 1}")
    assert cli.main(["adopt", str(repo)]) == OK
    out = capsys.readouterr().out
    assert f"Level {level + 1} (" in out and "Kept " in out
    for path in theirs:
        assert only_added(path, adopted[path], (repo / path).read_bytes()), path
    if "Makefile" in merged:
        assert "  Makefile: targets pipeline" in out
        assert "\npipeline: ## " in (repo / "Makefile").read_text()
    assert examine(repo)["level"] == level + 1
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--allow-empty", "--message", "merge the kept files")
    assert cli.main(["adopt", str(repo)]) == OK
    assert "Nothing to merge" in capsys.readouterr().out
    assert git(repo, "status", "--porcelain") == ""
    assert cli.main(["adopt", str(repo), "--level", str(level + 2)]) == UNUSABLE
    assert f"is at level {level + 1} already; move up a level with" in capsys.readouterr().err


def test_adopt_refuses_a_dirty_repository(
    tmp_path: Path, git_identity: None, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = committed_copy("notebook-research", tmp_path)
    (repo / "README.md").write_text("changed\n")
    status = cli.main(["adopt", str(repo), "--level", "1"])
    err = capsys.readouterr().err
    assert status == UNUSABLE
    assert "has uncommitted changes; commit or stash them first" in err
    assert " M README.md" in err
    assert not (repo / ".copier-answers.yml").exists()


def test_adopt_refuses_a_folder_without_git(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    shutil.copytree(FOREIGN / "notebook-research", tmp_path / "repo")
    assert cli.main(["adopt", str(tmp_path / "repo")]) == UNUSABLE
    assert "is not a git repository; run `git init`" in capsys.readouterr().err
    assert not (tmp_path / "repo" / ".copier-answers.yml").exists()


def test_adopt_names_an_answer_copier_refuses(
    template: Path, tmp_path: Path, git_identity: None, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = committed_copy("notebook-research", tmp_path)
    args = ["adopt", str(repo), "--level", "1", "--template", str(template)]
    status = cli.main([*args, "--data", "package_name=class"])
    err = capsys.readouterr().err
    assert status == UNUSABLE
    assert "copier could not render level 1" in err and "package_name 'class'" in err
    assert git(repo, "status", "--porcelain") == ""


# --- what adopt merges into a file the team has ------------------------------------------

TEMPLATE_PYPROJECT = """\
[project]
name = "churn-model"
dependencies = [
    "mlflow>=3.17,<4",
    "pandas>=2.1,<3",
]

[project.scripts]
churn_model = "churn_model.cli:main"

[dependency-groups]
dev = ["pytest>=8.0", "ruff>=0.6"]

[build-system]
requires = ["hatchling>=1.25"]
"""


def test_pyproject_gains_what_it_lacks_and_keeps_what_it_has() -> None:
    ours = """\
[project]
name = "bikes"
dependencies = [
  "Pandas>=2.3",  # ours
]

[dependency-groups]
test = ["pytest>=9.0"]
dev = ["black>=24"]
"""
    merged = merge("pyproject.toml", ours, TEMPLATE_PYPROJECT)
    assert merged.added == [
        "dependencies mlflow>=3.17,<4",
        "dependency group dev: ruff>=0.6",
        "scripts churn_model",
    ]
    assert only_added("pyproject.toml", ours.encode(), merged.text.encode())
    assert '  "Pandas>=2.3",  # ours\n  "mlflow>=3.17,<4",\n]' in merged.text
    assert 'dev = ["black>=24", "ruff>=0.6"]' in merged.text  # on its line, as it was
    parsed = tomlkit.parse(merged.text).unwrap()
    assert parsed["project"]["scripts"] == {"churn_model": "churn_model.cli:main"}
    assert parsed["dependency-groups"] == {
        "test": ["pytest>=9.0"],
        "dev": ["black>=24", "ruff>=0.6"],
    }
    assert "build-system" not in parsed  # theirs to choose


@pytest.mark.parametrize(
    "ours",
    [
        "[project\nname = 'x'\n",  # not TOML
        "[tool.poetry]\nname = 'x'\n",  # no [project] table: adding one changes the build
        TEMPLATE_PYPROJECT,  # has everything already
    ],
)
def test_a_pyproject_nothing_can_be_added_to_safely_is_left_as_it_is(ours: str) -> None:
    merged = merge("pyproject.toml", ours, TEMPLATE_PYPROJECT)
    assert (merged.text, merged.added) == (ours, [])


def test_makefile_gains_the_targets_it_lacks_with_their_variables(tmp_path: Path) -> None:
    ours = ".DEFAULT_GOAL := build\nRUN = python\n\n.PHONY: build test\nbuild:\n\techo ours\n"
    ours += "test:\n\t$(RUN) -m unittest\n"
    template = """\
.DEFAULT_GOAL := help
# How each job runs.
RUN = uv run
INPUT ?= data/sample.csv
train: RUN = uv run --frozen

.PHONY: test
test: ## run the tests
\t$(RUN) pytest

.PHONY: train
train: ## train the model
\t$(RUN) train --input $(INPUT) \\
\t\t--seed 1
"""
    merged = merge("Makefile", ours, template)
    assert merged.added == ["targets train", "variables INPUT"]
    assert merged.text.startswith(ours)
    added = merged.text[len(ours) :]
    assert "test:" not in added and "DEFAULT_GOAL" not in added and "RUN = uv run\n" not in added
    assert "train: RUN = uv run --frozen" in added and "\t\t--seed 1" in added
    (tmp_path / "Makefile").write_text(merged.text)
    dry = subprocess.run(["make", "-n", "-C", str(tmp_path)], capture_output=True, text=True)
    assert dry.stdout.splitlines()[1] == "echo ours"  # their default goal stays
    dry = subprocess.run(
        ["make", "-s", "-n", "-C", str(tmp_path), "train", "test"], capture_output=True, text=True
    )
    assert dry.stdout.split("\n")[:3] == [
        "uv run --frozen train --input data/sample.csv \\",
        "\t--seed 1",
        "python -m unittest",
    ], dry.stderr
    assert merge("Makefile", merged.text, template).added == []  # once only


def exclude_patterns(kept_files: list[str] | None) -> list[str]:
    """copier.yml's `_exclude` lines rendered by plain Jinja, as `copier update` renders
    them with the previous release's extensions, which know none of this one's filters."""
    config = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))
    context = {} if kept_files is None else {"kept_files": kept_files}
    lines = [jinja2.Environment().from_string(line).render(context) for line in config["_exclude"]]
    return [pattern for line in lines for pattern in line.splitlines() if pattern.strip()]


def test_kept_files_exclude_exactly_those_paths() -> None:
    """copier.yml's `_exclude` lines for kept_files match each path and nothing else."""
    paths = ["Makefile", "src/a[1].py", "x*#", "why?", "back\\slash"]
    patterns = exclude_patterns(paths)
    spec = pathspec.PathSpec.from_lines("gitignore", patterns)  # as copier matches
    assert [spec.match_file(path) for path in paths] == [True] * len(paths), patterns
    others = ["docs/Makefile", "src/a1.py", "xy#", "whyX", "backXslash"]
    assert not any(spec.match_file(path) for path in others), patterns
    assert exclude_patterns([]) == exclude_patterns(None) == []  # copier's renders keep all
