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
