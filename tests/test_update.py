"""Moving a generated project up a level with `copier update`, with the team's edits in place."""

from __future__ import annotations

import pytest

from extensions.ladder import AVAILABLE_LEVELS
from tests.project import Project, render

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


def edit_like_a_team(project: Project, package: str) -> None:
    """The edits a team makes in its first weeks, then commits."""
    model = project.path / "src" / package / "model.py"
    text = model.read_text()
    start = text.index("\n\ndef add_features")
    end = text.index("\n\n\ndef build_model")
    text = text[:start] + OWN_FEATURES.rstrip("\n") + text[end:]
    text = text.replace(
        'LogisticRegression(C=params["C"], max_iter=params["max_iter"])',
        'LogisticRegression(C=params["C"], max_iter=params["max_iter"], class_weight="balanced")',
    )
    model.write_text(text)
    params = project.path / "params.yaml"
    params.write_text(params.read_text().replace("C: 1.0", "C: 0.5") + "\nowner: clinic-ml\n")
    readme = project.path / "README.md"
    readme.write_text(readme.read_text() + OWN_README)
    (project.path / "src" / package / "report.py").write_text(OWN_MODULE)
    (project.path / "tests" / "test_report.py").write_text(OWN_TEST.format(package=package))
    project.make("format")
    project.git_commit_all("Our own features, settings, notes and report")


def assert_edits_survived(project: Project, package: str) -> None:
    model = (project.path / "src" / package / "model.py").read_text()
    assert "radius_to_texture" in model
    assert 'class_weight="balanced"' in model
    params = (project.path / "params.yaml").read_text()
    assert "C: 0.5" in params and "owner: clinic-ml" in params
    assert (project.path / "README.md").read_text().endswith(OWN_README)
    assert (project.path / "src" / package / "report.py").read_text() == OWN_MODULE


def assert_merged_cleanly(project: Project) -> None:
    for path in project.files():
        assert not path.endswith(".rej"), path
        if path.endswith((".py", ".md", ".yaml", ".yml", ".toml", "Makefile")):
            text = (project.path / path).read_text()
            assert not any(marker in text for marker in CONFLICT_MARKERS), path


UPGRADES = [(low, high) for low in AVAILABLE_LEVELS for high in AVAILABLE_LEVELS if high > low]


@pytest.mark.slow
@pytest.mark.parametrize(("low", "high"), UPGRADES, ids=[f"L{a}-to-L{b}" for a, b in UPGRADES])
def test_upgrade_keeps_the_teams_edits(template, tmp_path, low, high):
    project = render(template, tmp_path / "clinic", project_name="Clinic", mlops_level=low)
    project.git_commit_all("Render the template")
    project.make("setup")
    project.git_commit_all("Lock the environment")
    edit_like_a_team(project, "clinic")

    project.update(mlops_level=high)

    assert project.answers["mlops_level"] == high
    assert_edits_survived(project, "clinic")
    assert_merged_cleanly(project)
    project.make("setup")
    project.make("lint", "test")
    if high >= 2:
        output = project.make("pipeline")
        assert "as champion" in output


def test_downgrade_is_refused_and_changes_nothing(template, tmp_path):
    project = render(template, tmp_path / "clinic", project_name="Clinic", mlops_level=2)
    project.git_commit_all("Render the template")
    before = {path: (project.path / path).read_bytes() for path in project.files()}

    with pytest.raises(ValueError, match="mlops_level cannot go down from 2 to 1") as refused:
        project.update(mlops_level=1)

    assert "delete level 2's files" in str(refused.value)
    assert project.answers["mlops_level"] == 2
    assert {path: (project.path / path).read_bytes() for path in project.files()} == before
    assert project.run("git", "status", "--porcelain") == ""


def test_update_at_the_same_level_changes_nothing(template, tmp_path):
    project = render(template, tmp_path / "clinic", project_name="Clinic", mlops_level=1)
    project.git_commit_all("Render the template")
    project.update(mlops_level=1)
    assert project.run("git", "status", "--porcelain") == ""
