"""Fixtures shared by the template's tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def copier_template_paths() -> list[str]:
    """Only what the template is made of, not this checkout's venvs and caches."""
    return ["copier.yml", "template", "extensions"]


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
