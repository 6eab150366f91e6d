"""Fixtures shared by the template's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

# The checks of generated projects live in modules of their own; rewrite their asserts too.
pytest.register_assert_rewrite("tests.generated")


@pytest.fixture(scope="session")
def copier_template_paths() -> list[str]:
    """Only what the template is made of, not this checkout's venvs and caches; with the
    mlops-ladder package, which a generated project's `make doctor` builds from it."""
    return [
        "copier.yml",
        "template",
        "extensions",
        "includes",
        "pyproject.toml",
        "README.md",
        "mlops_ladder",
    ]


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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the once-per-level checks of all but a level's first variant (they show as
    deselected), then run the heaviest classes first: xdist hands out whole classes in the
    order they come, so a level-4 project started last would leave one worker idle while
    the other finishes it."""
    repeated = [
        item
        for item in items
        if item.get_closest_marker("once_per_level")
        and not getattr(getattr(item, "cls", None), "first_of_level", True)
    ]
    if repeated:
        config.hook.pytest_deselected(items=repeated)
        dropped = set(repeated)
        items[:] = [item for item in items if item not in dropped]
    items.sort(key=lambda item: -getattr(getattr(item, "cls", None), "weight", 0))
