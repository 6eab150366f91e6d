"""A project rendered from the previous release updates to this checkout cleanly.

The releases and their commits are read from CHANGELOG.md, not from git tags, which do
not reach every clone: the test clones this repository, tags the recorded commit in
the clone, copies a project at that tag and updates it to the newest commit, which
carries this checkout's template files.
"""

from __future__ import annotations

import filecmp
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.matrix import ROOT
from harness.project import render
from harness.team_edits import (
    assert_edits_survived,
    assert_merged_cleanly,
    changes_from,
    edit_like_a_team,
)

# A release's heading, a blank line, its commit: "## 0.1.0 (2026-11-30)", "Commit: `abc1234`"
RELEASE = re.compile(r"^## (\d+\.\d+\.\d+)[^\n]*\n\nCommit: `([0-9a-f]{7,40})`", re.MULTILINE)
TEMPLATE_PATHS = ("copier.yml", "template", "extensions", "includes")
TEAM = {"project_name": "Clinic", "author_name": "Clinic ML"}


def releases() -> list[tuple[str, str]]:
    """(version, commit) of every release in CHANGELOG.md, newest first."""
    return RELEASE.findall((ROOT / "CHANGELOG.md").read_text(encoding="utf-8"))


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture(scope="module")
def repository(tmp_path_factory) -> Path:
    """A clone of this repository, the previous release tagged, this checkout committed on top."""
    clone = tmp_path_factory.mktemp("release") / "mlops-ladder"
    git("clone", "--quiet", str(ROOT), str(clone), cwd=ROOT)
    version, commit = releases()[0]
    known = subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=clone)
    assert known.returncode == 0, f"release {version} ({commit}) is not in this clone's history"
    git("tag", "--force", f"v{version}", commit, cwd=clone)
    for name in TEMPLATE_PATHS:
        if (clone / name).is_dir():
            shutil.rmtree(clone / name)
            shutil.copytree(ROOT / name, clone / name)
        else:
            shutil.copy2(ROOT / name, clone / name)
    git("add", "--all", *TEMPLATE_PATHS, cwd=clone)
    identity = ["-c", "user.name=Release test", "-c", "user.email=release@example.com"]
    git(*identity, "commit", "--quiet", "--allow-empty", "-m", "This checkout", cwd=clone)
    return clone


def test_the_changelog_records_each_release_and_its_commit():
    found = releases()
    assert found, "CHANGELOG.md records no release"
    versions = [tuple(map(int, version.split("."))) for version, _ in found]
    assert versions == sorted(versions, reverse=True), "newest release first"


def built_levels_at(repository: Path, ref: str) -> list[int]:
    """The levels the template at `ref` builds, read from its own extension."""
    source = git("show", f"{ref}:extensions/ladder.py", cwd=repository)
    return [int(level) for level in re.findall(r"\d", re.search(r"BUILT_LEVELS = (.*)", source)[1])]


@pytest.mark.slow
def test_projects_of_the_previous_release_update_to_head_as_fresh_renders(repository, tmp_path):
    tag = f"v{releases()[0][0]}"
    for level in built_levels_at(repository, tag):
        answers = {**TEAM, "mlops_level": level}
        old = render(repository, tmp_path / f"old-{level}" / "clinic", tag, **answers)
        old.git_commit_all("Render the previous release")
        released = old.files()
        old.update(mlops_level=level)
        fresh = render(repository, tmp_path / f"new-{level}" / "clinic", **answers)
        gone = sorted(released - fresh.files())
        assert not gone, (
            f"level {level}: {gone} of {tag} are not rendered any more; a moved file needs a "
            "_migrations entry and its test (docs/upgrading.md, New releases of the template)"
        )
        assert old.files() == fresh.files(), level
        _, mismatched, errors = filecmp.cmpfiles(
            old.path, fresh.path, sorted(fresh.files()), shallow=False
        )
        assert mismatched == errors == [], (level, mismatched)


@pytest.mark.slow
def test_an_edited_project_of_the_previous_release_climbs_to_the_top_of_head(repository, tmp_path):
    """The team's edits on a project of the previous release survive a climb to the top."""
    tag = f"v{releases()[0][0]}"
    low = max(built_levels_at(repository, tag))
    top = max(built_levels_at(repository, "HEAD"))
    project = render(repository, tmp_path / "project" / "clinic", tag, **TEAM, mlops_level=low)
    project.git_commit_all("Render the previous release")
    project.make("setup")
    project.git_commit_all("Lock the environment")
    edit_like_a_team(project)
    old = render(repository, tmp_path / "old" / "clinic", tag, **TEAM, mlops_level=low)
    edits = changes_from(old, project)

    project.update(mlops_level=top)

    assert project.answers["mlops_level"] == top
    assert_merged_cleanly(project)
    assert_edits_survived(project)
    new = render(repository, tmp_path / "new" / "clinic", **TEAM, mlops_level=top)
    assert changes_from(new, project) == edits
