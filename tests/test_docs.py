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

from extensions.ladder import LEVELS, NO_ASSESSMENT_REASON, RULES

ROOT = Path(__file__).resolve().parents[1]


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
    config = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))
    return [name for name in config if not name.startswith("_")]


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
