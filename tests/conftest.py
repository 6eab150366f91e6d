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


def applies_to_variant(item: pytest.Item) -> bool:
    """False for a check marked `only_where` whose variant's features it does not apply to."""
    marker = item.get_closest_marker("only_where")
    variant = getattr(getattr(item, "cls", None), "variant", None)
    return marker is None or variant is None or bool(marker.args[0](variant.has))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the once-per-level checks of all but a level's first variant, and the
    checks marked `only_where` in the variants they do not apply to (both show as
    deselected), then run the heaviest classes first: xdist hands out whole classes in the
    order they come, so a level-4 project started last would leave one worker idle while
    the other finishes it."""
    left_out = [
        item
        for item in items
        if (
            item.get_closest_marker("once_per_level")
            and not getattr(getattr(item, "cls", None), "first_of_level", True)
        )
        or not applies_to_variant(item)
    ]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        dropped = set(left_out)
        items[:] = [item for item in items if item not in dropped]
    items.sort(key=lambda item: -getattr(getattr(item, "cls", None), "weight", 0))
