"""The docs site builds strictly and its generated pages follow copier.yml and the code."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from extensions.ladder import (
    BUILT_LEVELS,
    FEATURES,
    LEVEL_FEATURES,
    LEVELS,
    NO_ASSESSMENT_REASON,
    RULES,
    project_has,
    questions,
)
from harness.matrix import ROOT, expected_files, render_jinja


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site_dir = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return site_dir


def page_text(site: Path, page: str) -> str:
    """The visible text of a page's article, whitespace collapsed."""
    source = (site / page / "index.html").read_text(encoding="utf-8")
    article = re.search(r"<article\b.*?</article>", source, re.DOTALL)
    assert article, f"{page} has no article"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", article.group(0))).split())


def question_names() -> list[str]:
    return list(questions())


def test_every_marker_is_filled_and_hooks_stay_private(site: Path) -> None:
    markers = {
        marker
        for source in (ROOT / "docs").rglob("*.md")
        for marker in re.findall(r"<!-- [a-z-]+ -->", source.read_text(encoding="utf-8"))
    }
    assert markers, "the generated pages lost their markers"
    for page in site.rglob("*.html"):
        filled = page.read_text(encoding="utf-8")
        assert not [marker for marker in markers if marker in filled], f"unfilled in {page}"
    assert not (site / "hooks").exists(), "the docs hooks must not be published"


def test_questions_page_lists_every_question(site: Path) -> None:
    text = page_text(site, "reference/questions")
    source = (site / "reference/questions/index.html").read_text(encoding="utf-8")
    for name in question_names():
        assert name in text
        assert f'id="{name}"' in source, f"no section for {name}"


def test_choosing_page_shows_every_rule(site: Path) -> None:
    text = page_text(site, "choosing-a-level")
    for conditions, level, reason in RULES:
        assert reason in text
        assert f"{level} {LEVELS[level]}" in text
        for name in conditions:
            assert name in text
    assert NO_ASSESSMENT_REASON in text


def test_home_page_names_every_level(site: Path) -> None:
    text = page_text(site, "")
    for level, name in LEVELS.items():
        assert f"{level} {name}" in text


# --- The level pages and the upgrade page follow the template they describe ----------

TEMPLATE = ROOT / "template"
UPGRADE_COMMAND = "copier update --trust --defaults --data mlops_level="


def template_context(
    level: int, serving: str = "batch", data_remote: str = "local"
) -> dict[str, object]:
    answers = {"mlops_level": level, "serving": serving, "data_remote": data_remote}
    return {
        **answers,
        "has": project_has(answers),
        "package_name": "pkg",
        "project_name": "Pkg",
        "_copier_conf": {"answers_file": ".copier-answers.yml"},
    }


def rendered_files(level: int, serving: str = "batch", data_remote: str = "local") -> set[str]:
    """The project's file paths at a level (the set the render tests check)."""
    answers = {"mlops_level": level, "serving": serving, "data_remote": data_remote}
    return expected_files(project_has(answers), "pkg")


def make_targets(level: int, serving: str = "batch", data_remote: str = "local") -> set[str]:
    makefile = render_jinja(
        (TEMPLATE / "Makefile.jinja").read_text(encoding="utf-8"),
        **template_context(level, serving, data_remote),
    )
    return set(re.findall(r"^([a-z-]+):.*## ", makefile, re.MULTILINE))


def validator_message(level: int, previous: int | None) -> str:
    """The mlops_level validator's message, rendered the way copier renders it."""
    message = render_jinja(
        questions()["mlops_level"]["validator"],
        mlops_level=level,
        levels=LEVELS,
        built_levels=BUILT_LEVELS,
        previous_level=lambda: previous,
    )
    return " ".join(message.split())


def test_level_and_upgrade_pages_are_in_the_site(site: Path) -> None:
    for page in [*(f"levels/level-{level}" for level in BUILT_LEVELS), "upgrading"]:
        assert (site / page / "index.html").is_file(), page


def test_level_1_page_names_every_file_and_make_target(site: Path) -> None:
    text = page_text(site, "levels/level-1")
    for path in rendered_files(1):
        assert path.rsplit("/", 1)[-1] in text, path
    for target in make_targets(1):
        assert f"make {target}" in text, target


def test_level_2_page_names_every_file_and_make_target_it_adds(site: Path) -> None:
    text = page_text(site, "levels/level-2")
    for path in rendered_files(2, "online") - rendered_files(1):
        assert path.rsplit("/", 1)[-1] in text, path
    for target in make_targets(2, "online") - make_targets(1):
        assert f"make {target}" in text, target


def test_level_3_page_names_every_file_and_make_target_it_adds(site: Path) -> None:
    text = page_text(site, "levels/level-3")
    for remote in ("local", "s3"):
        added = rendered_files(3, "online", remote) - rendered_files(2, "online")
        for path in added:
            assert path.rsplit("/", 1)[-1] in text, path
        for target in make_targets(3, "online", remote) - make_targets(2, "online"):
            assert f"make {target}" in text, target


def test_level_4_page_names_every_file_and_make_target_it_adds(site: Path) -> None:
    text = page_text(site, "levels/level-4")
    for serving in ("batch", "online"):
        answers = {"serving": serving, "data_remote": "local"}
        added = rendered_files(4, **answers) - rendered_files(3, **answers)
        for path in added:
            assert path.rsplit("/", 1)[-1] in text, path
        for target in make_targets(4, **answers) - make_targets(3, **answers):
            assert f"make {target}" in text, target


def test_level_2_page_shows_the_gate_as_rendered(site: Path) -> None:
    params = yaml.safe_load(
        render_jinja(
            (TEMPLATE / "params.yaml.jinja").read_text(encoding="utf-8"), **template_context(2)
        )
    )
    source = (ROOT / "docs" / "levels" / "level-2.md").read_text(encoding="utf-8")
    shown = [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", source, re.DOTALL)]
    assert {"gate": params["gate"]} in shown


def test_level_3_page_shows_the_model_cards_settings_as_rendered() -> None:
    defaults = {name: questions()[name]["default"] for name in ("author_name", "author_email")}
    params = yaml.safe_load(
        render_jinja(
            (TEMPLATE / "params.yaml.jinja").read_text(encoding="utf-8"),
            **template_context(3),
            **defaults,
        )
    )
    source = (ROOT / "docs" / "levels" / "level-3.md").read_text(encoding="utf-8")
    shown = [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", source, re.DOTALL)]
    assert {"governance": params["governance"]} in shown


def test_upgrade_command_matches_the_template() -> None:
    for path in (ROOT / "copier.yml", TEMPLATE / "README.md.jinja"):
        assert UPGRADE_COMMAND in path.read_text(encoding="utf-8"), path
    for page in ("upgrading.md", "index.md", "levels/level-1.md"):
        assert UPGRADE_COMMAND in (ROOT / "docs" / page).read_text(encoding="utf-8"), page


def test_refusals_are_quoted_as_copier_shows_them(site: Path) -> None:
    downgrade = validator_message(level=1, previous=2)
    assert downgrade.startswith("mlops_level cannot go down from 2 to 1")
    assert downgrade in page_text(site, "upgrading")
    unbuilt = [level for level in LEVELS if level not in BUILT_LEVELS]
    if unbuilt:
        message = validator_message(level=min(unbuilt), previous=None)
        assert "is not built" in message
        for page in ("", "upgrading", f"levels/level-{max(BUILT_LEVELS)}"):
            assert message in page_text(site, page), page


def test_features_page_lists_the_feature_table(site: Path) -> None:
    text = page_text(site, "reference/features")
    for name, feature in FEATURES.items():
        assert f"{name} {feature.gives}" in text, name
    for level, names in LEVEL_FEATURES.items():
        for name in names:
            assert f"{name} {FEATURES[name].gives} level {level} ({LEVELS[level]})" in text
