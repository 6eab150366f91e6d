"""Every variant renders exactly its files, with no template residue."""

from __future__ import annotations

import re

import pytest

from tests.matrix import expected_files, params, variants
from tests.project import render

RESIDUE = re.compile(r"(?<!\$)\{\{|\{%|\{#|\.jinja\b")


@pytest.mark.parametrize("variant", params())
def test_renders_exact_file_set(template, tmp_path, variant):
    project = render(template, tmp_path / "project", **variant.data)
    package = project.answers["package_name"]
    assert project.files() == expected_files(variant.features, package)


@pytest.mark.parametrize("variant", params())
def test_no_template_residue(template, tmp_path, variant):
    project = render(template, tmp_path / "project", **variant.data)
    leftovers = [
        f"{path}: {match.group()!r}"
        for path in sorted(project.files())
        if not path.endswith(".csv")
        for match in [RESIDUE.search((project.path / path).read_text(encoding="utf-8"))]
        if match
    ]
    assert not leftovers


@pytest.mark.parametrize("variant", params())
def test_answers_file_records_the_level(template, tmp_path, variant):
    project = render(template, tmp_path / "project", **variant.data)
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
