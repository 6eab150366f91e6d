"""The edits a team makes to a generated project, for the upgrade tests (and the docs).

Each edit lands where real teams write, which is where a careless template would
conflict with them: the code they own, a new metric in training, settings, the README,
the Makefile, .gitignore, a dependency added with uv, their own modules and tests, and
a step of their own in CI.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from harness.project import Project

CONFLICT_MARKERS = ("<<<<<<<", ">>>>>>>")

OWN_FEATURES = '''

def add_features(features: pd.DataFrame) -> pd.DataFrame:
    """Radius relative to texture: our own signal."""
    return features.assign(radius_to_texture=features["mean_radius"] / features["mean_texture"])
'''
OWN_MODULE = '''"""Our own report helper, added by the team."""


def describe(count: int) -> str:
    return f"{count} rows scored"
'''
OWN_TEST = """from {package}.report import describe


def test_describe():
    assert describe(3) == "3 rows scored"
"""
OWN_README = "\n## Our notes\n\nThe team's own paragraph: data comes from the clinic export.\n"
OWN_TABLE_ROW = "| `src/{package}/data.py` | reads the clinic's nightly export |"
OWN_TARGET = (
    "\n.PHONY: report\nreport: ## print the clinic's weekly report\n\t@echo weekly report\n"
)
OWN_IGNORED = "\n# Our notebooks' checkpoints\n.ipynb_checkpoints/\n"
OWN_METRIC = '        "balanced_accuracy": balanced_accuracy_score(target, predicted),\n'
OWN_DEPENDENCY = "tabulate"
OWN_CI_STEP = """
      - name: Report
        run: make report
"""

# What the team does to the project in its first weeks: each edit lands where real
# teams write, which is where a careless template would conflict with them.
EDITS = (
    "model.py: own features and estimator settings",
    "train.py: a new metric",
    "params.yaml: a changed value and a new key",
    "README.md: a changed table row and a paragraph at the end",
    "Makefile: a target of their own",
    ".gitignore: lines of their own",
    "pyproject.toml and uv.lock: a dependency added with uv add",
    "src/ and tests/: a module and a test of their own",
    "CI workflow: a step of their own (from level 2)",
)


def replace_once(path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not in {path} exactly once"
    path.write_text(text.replace(old, new))


def append(path, text: str) -> None:
    path.write_text(path.read_text() + text)


def edit_like_a_team(project: Project) -> None:
    """Make every edit in EDITS and commit them."""
    package = project.path / "src" / project.package
    model = package / "model.py"
    text = model.read_text()
    start, end = text.index("\n\ndef add_features"), text.index("\n\n\ndef build_model")
    model.write_text(text[:start] + OWN_FEATURES.rstrip("\n") + text[end:])
    replace_once(
        model,
        'LogisticRegression(C=params["C"], max_iter=params["max_iter"])',
        'LogisticRegression(C=params["C"], max_iter=params["max_iter"], class_weight="balanced")',
    )
    replace_once(
        package / "train.py",
        "from sklearn.metrics import ",
        "from sklearn.metrics import balanced_accuracy_score, ",
    )
    replace_once(
        package / "train.py",
        '        "roc_auc": roc_auc_score(target, scores),\n',
        '        "roc_auc": roc_auc_score(target, scores),\n' + OWN_METRIC,
    )
    replace_once(project.path / "params.yaml", "C: 1.0", "C: 0.5")
    append(project.path / "params.yaml", "\nowner: clinic-ml\n")
    readme = project.path / "README.md"
    row = next(line for line in readme.read_text().splitlines() if "/data.py` |" in line)
    replace_once(readme, row, OWN_TABLE_ROW.format(package=project.package))
    append(readme, OWN_README)
    append(project.path / "Makefile", OWN_TARGET)
    append(project.path / ".gitignore", OWN_IGNORED)
    project.run(project.env()["UV"], "add", "--quiet", OWN_DEPENDENCY)
    (package / "report.py").write_text(OWN_MODULE)
    (project.path / "tests" / "test_report.py").write_text(OWN_TEST.format(package=project.package))
    workflow = project.path / ".github" / "workflows" / "ci.yml"
    if workflow.exists():
        append(workflow, OWN_CI_STEP)
    project.make("format")
    project.git_commit_all("Our own features, metric, settings, notes, target and report")


def assert_edits_survived(project: Project) -> None:
    package = project.path / "src" / project.package
    model = (package / "model.py").read_text()
    assert "radius_to_texture" in model and 'class_weight="balanced"' in model
    assert OWN_METRIC in (package / "train.py").read_text()
    params = (project.path / "params.yaml").read_text()
    assert "C: 0.5" in params and params.endswith("\nowner: clinic-ml\n")
    readme = (project.path / "README.md").read_text()
    assert OWN_TABLE_ROW.format(package=project.package) in readme
    assert readme.endswith(OWN_README)
    assert (project.path / "Makefile").read_text().endswith(OWN_TARGET)
    assert (project.path / ".gitignore").read_text().endswith(OWN_IGNORED)
    assert f'"{OWN_DEPENDENCY}>=' in (project.path / "pyproject.toml").read_text()
    assert f'name = "{OWN_DEPENDENCY}"' in (project.path / "uv.lock").read_text()
    assert (package / "report.py").read_text() == OWN_MODULE
    assert (project.path / "tests" / "test_report.py").is_file()


def assert_merged_cleanly(project: Project) -> None:
    for path in project.files():
        assert not path.endswith(".rej"), path
        if not path.endswith((".csv", ".lock")):
            text = (project.path / path).read_text()
            assert not any(marker in text for marker in CONFLICT_MARKERS), path
    assert project.run("git", "diff", "--name-only", "--diff-filter=U") == ""


Changes = dict[str, tuple[list[str], list[str]]]


def changes_from(fresh: Project, project: Project) -> Changes:
    """The lines the project adds to and removes from a fresh render, file by file.

    Taken before an update against a render of the old level, and after it against a
    render of the new one, it must be the same: the update brought the template's
    changes and nothing else, and kept every line of the team's.
    """
    tracked = set(project.run("git", "ls-files").splitlines())
    changes: Changes = {}
    for path in sorted(tracked | fresh.files()):
        ours, theirs = lines_of(project.path / path), lines_of(fresh.path / path)
        if ours is None or theirs is None or ours == theirs:
            if (ours is None) != (theirs is None):
                changes[path] = (["<file>"], []) if theirs is None else ([], ["<file>"])
            continue
        added, removed = [], []
        for line in difflib.unified_diff(theirs, ours, n=0, lineterm=""):
            if line.startswith(("+++", "---", "@@")):
                continue
            (added if line.startswith("+") else removed).append(line[1:])
        changes[path] = (sorted(added), sorted(removed))
    return changes


def lines_of(path: Path) -> list[str] | None:
    if not path.is_file():
        return None
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        return [path.read_bytes().hex()]
