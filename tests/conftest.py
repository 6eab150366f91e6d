"""Fixtures shared by the template's tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def copier_template_paths() -> list[str]:
    """Only what the template is made of, not this checkout's venvs and caches."""
    return ["copier.yml", "template", "extensions", "includes"]


@pytest.fixture(scope="session")
def template(copier_template: Path) -> Path:
    """The template as a tagged git repository (pytest-copier tags it 99.99.99)."""
    return copier_template


def pytest_itemcollected(item: pytest.Item) -> None:
    """`-k Monitoring` selects the checks of MonitoringChecks in every variant's class: a
    test is known by the name of the check group that defines it, too."""
    cls = getattr(item, "cls", None)
    name = getattr(item, "originalname", None)
    if cls is None or name is None:
        return
    for base in cls.__mro__:
        if name in vars(base):
            item.extra_keyword_matches.add(base.__name__)
            return


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest groups first: xdist hands out whole classes in the order they come, so a
    level-4 project started last would leave one worker idle while the other finishes it.
    """
    items.sort(key=lambda item: -weight(getattr(item, "cls", None)))


def weight(cls: type | None) -> int:
    """Twice a generated project's level (or the level an upgrade climbs to), one more for
    the project that runs each of its test files alone; 0 for the rest."""
    if cls is None:
        return 0
    match = re.fullmatch(r"Test(?:Upgrade_L\d_to_)?L(\d)\w*", cls.__name__)
    alone = any(base.__name__ == "EachTestFileAlone" for base in cls.__mro__)
    return 2 * int(match.group(1)) + alone if match else 0
