"""Every variant renders exactly its files, with no template residue."""

from __future__ import annotations

import re

import pytest

from tests.matrix import Variant, expected_files, params, variants
from tests.project import Project, render

RESIDUE = re.compile(r"(?<!\$)\{\{|\{%|\{#|\.jinja\b")


@pytest.fixture(scope="module", params=params())
def rendered(request, template, tmp_path_factory) -> tuple[Variant, Project]:
    """Each variant rendered once for the checks below."""
    variant = request.param
    return variant, render(template, tmp_path_factory.mktemp(variant.id), **variant.data)


def test_renders_exact_file_set(rendered):
    variant, project = rendered
    package = project.answers["package_name"]
    assert project.files() == expected_files(variant.features, package)


def test_no_template_residue(rendered):
    _, project = rendered
    leftovers = [
        f"{path}: {match.group()!r}"
        for path in sorted(project.files())
        if not path.endswith(".csv")
        for match in [RESIDUE.search((project.path / path).read_text(encoding="utf-8"))]
        if match
    ]
    assert not leftovers


def test_answers_file_records_the_level(template, rendered):
    variant, project = rendered
    answers = project.answers
    assert answers["mlops_level"] == variant.level
    assert answers["_src_path"] == str(template)
    if variant.features.serving_choice:
        assert answers["serving"] == variant.serving
    else:
        assert "serving" not in answers, "a question the level does not ask is not recorded"


def test_matrix_covers_every_level_and_serving_choice():
    ids = [variant.id for variant in variants()]
    assert ids[0] == "L1"
    assert {"L2-batch", "L2-online"} <= set(ids)
    assert len(ids) == len(set(ids))
