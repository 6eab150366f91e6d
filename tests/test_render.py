"""Every variant renders exactly its files, with no template residue."""

from __future__ import annotations

import ast
import os
import re
import subprocess

import pytest
import yaml

from extensions.ladder import (
    ASKED_FROM,
    CLOUD_REMOTES,
    FEATURES,
    asked,
    choices,
    pipeline_stages,
)
from harness.matrix import (
    FEATURE_FILES,
    FEATURE_TARGETS,
    LINE_FEATURES,
    ROOT,
    Variant,
    expected_files,
    params,
    rendered_only,
    variants,
)
from harness.project import Project, render
from tests.generated.base import step_script
from tests.imports import back_arrows, cycles, import_graph, template_levels

# Jinja left behind. Not residue: GitHub's ${{ }}, and the {{ }} that Prometheus and
# Grafana render themselves: Go templates on $value or $labels in alert annotations
# ({{ $value }}), label names in a legend ({{route}}, no spaces, unlike the template's).
RESIDUE = re.compile(r"(?<!\$)\{\{(?! ?\$)(?!\w+\}\})|\{%|\{#|\.jinja\b")
# A line that changes with the answers: a Jinja branch (names and values are not).
BRANCH = re.compile(r"\{%-?\s*(?:if|elif|else|for)\b")
PACKAGE_SRC = ROOT / "template" / "src" / "{{ package_name }}"
WIRING = "wiring.py.jinja"


@pytest.fixture(
    scope="module",
    params=[*params(), *(pytest.param(v, id=v.id) for v in rendered_only())],
)
def rendered(request, template, tmp_path_factory) -> tuple[Variant, Project]:
    """Each variant rendered once for the checks below."""
    variant = request.param
    return variant, render(template, tmp_path_factory.mktemp(variant.id), **variant.answers)


def test_renders_exact_file_set(rendered):
    variant, project = rendered
    package = project.answers["package_name"]
    assert project.files() == expected_files(variant.has, package)


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


def test_answers_file_records_only_the_questions_asked(template, rendered):
    variant, project = rendered
    answers = project.answers
    assert answers["mlops_level"] == variant.level
    assert answers["_src_path"] == str(template)
    for question in ASKED_FROM:
        if asked(question, variant.answers):
            assert answers[question] == variant.answers.get(question), question
        else:
            assert question not in answers, f"{question} is not asked at level {variant.level}"


def test_only_the_wiring_module_changes_lines_by_level():
    """In src/, a level adds whole files; the wiring module alone has lines that switch."""
    switched = sorted(
        str(path.relative_to(PACKAGE_SRC))
        for path in PACKAGE_SRC.rglob("*.jinja")
        if BRANCH.search(path.read_text(encoding="utf-8"))
    )
    assert switched == [WIRING], f"only {WIRING} may switch lines on features: {switched}"


def test_the_package_imports_without_cycles_or_back_arrows(rendered):
    """No module imports one that imports it back, and no module of a level imports one of
    a higher level; the wiring module, which names every level's parts, aside: it imports
    them only inside its functions, when a job asks, so a part may ask it back (the audit
    trail asks where else to keep its heads)."""
    _, project = rendered
    package = project.answers["package_name"]
    hub = f"{package}.wiring"
    graph = import_graph(project.path / "src", package)
    loaded = import_graph(project.path / "src", package, lazy=False)
    assert not cycles({**graph, hub: loaded[hub]})
    levels = template_levels(ROOT / "template" / "src", package)
    assert set(graph) <= set(levels), "every module comes from a template file"
    assert not back_arrows(graph, levels, hub=hub)


def test_every_runner_of_the_pipeline_runs_the_stages_in_one_order(rendered):
    """`make pipeline` (wiring.STAGES), dvc.yaml and the Kubeflow pipeline run the stages
    that the feature table gives the project, in its order."""
    variant, project = rendered
    if not variant.has.pipeline:
        return
    order = list(pipeline_stages(variant.has))
    wiring = ast.parse((project.path / "src" / project.package / "wiring.py").read_text())
    (stages,) = [
        node.value
        for node in wiring.body
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "STAGES"
    ]
    assert ast.literal_eval(stages) == tuple(order)
    if variant.has.dvc:
        dvc = yaml.safe_load((project.path / "dvc.yaml").read_text())
        assert list(dvc["stages"]) == order
    if variant.has.kubeflow:
        kubeflow = (project.path / "pipelines" / "kubeflow.py").read_text()
        assert f"STAGES = [snapshot, {', '.join(order)}]" in kubeflow


def test_matrix_covers_every_level_and_serving_choice():
    ids = [variant.id for variant in variants()]
    assert ids[0] == "L1"
    assert {"L2-batch", "L2-online"} <= set(ids)
    assert len(ids) == len(set(ids))


def test_the_template_switches_on_exactly_the_features_of_the_table():
    """Every `has.<feature>` the template tests exists, and every feature is used."""
    used = set()
    for path in (ROOT / "template").rglob("*"):
        text = path.name + (path.read_text(encoding="utf-8") if path.suffix == ".jinja" else "")
        used |= set(re.findall(r"\bhas\.([a-z_]+)", text))
    used |= set(re.findall(r"\bhas\.([a-z_]+)", (ROOT / "copier.yml").read_text()))
    assert used == set(FEATURES)


def test_the_test_matrix_knows_only_features_of_the_table():
    assert set(FEATURE_FILES) == set(FEATURES)
    assert all(FEATURE_FILES[name] for name in set(FEATURES) - LINE_FEATURES), "files of its own"
    assert set(FEATURE_TARGETS) <= set(FEATURES)


def test_every_answer_is_rendered_somewhere():
    rendered = {pair for variant in [*variants(), *rendered_only()] for pair in variant.choices}
    for question in ASKED_FROM:
        assert {(question, value) for value in choices(question)} <= rendered, question


def test_a_cloud_remote_is_configured_from_the_environment(rendered):
    variant, project = rendered
    if not variant.has.cloud_remote:
        return
    remote = CLOUD_REMOTES[project.answers["data_remote"]]
    config = (project.path / ".dvc" / "config").read_text()
    assert f"url = {remote.scheme}://DVC_REMOTE_URL-not-set/" in config
    assert f'"dvc[{remote.extra}]>=' in (project.path / "pyproject.toml").read_text()
    workflow = (project.path / ".github" / "workflows" / "ci.yml").read_text()
    for secret in remote.secrets:
        assert f"${{{{ secrets.{secret} }}}}" in workflow


def test_every_workflow_fails_on_a_failed_command_and_retraining_names_what_it_needs(
    rendered, tmp_path
):
    """GitHub's `bash` shell (-eo pipefail) in every workflow, so a job that fails in a pipe
    fails its step; and a retrain workflow that has no source to train on fails at once,
    in one line naming the repository variable to set, rather than in a stage."""
    variant, project = rendered
    workflows = sorted((project.path / ".github" / "workflows").glob("*.yml"))
    for workflow in workflows:
        assert yaml.safe_load(workflow.read_text())["defaults"] == {"run": {"shell": "bash"}}
    if not variant.has.continuous_training:
        return
    retrain = project.path / ".github" / "workflows" / "retrain.yml"
    jobs = yaml.safe_load(retrain.read_text())["jobs"]
    variable = "KFP_HOST" if variant.has.kubeflow else "DATA_SOURCE"
    assert jobs["retrain"]["env"][variable] == f"${{{{ vars.{variable} }}}}"
    steps = {step.get("name"): step.get("run", "") for step in jobs["retrain"]["steps"]}
    assert "data/raw/data.csv.dvc dvc.lock" in steps["Commit the records of this training"]
    pushes = variant.has.cloud_remote and not variant.has.kubeflow
    assert any(run == "make push" for run in steps.values()) == pushes
    names = list(steps)
    check = next(name for name in names if name and name.startswith("Check the"))
    assert names.index(check) < names.index("Train a challenger")
    result = subprocess.run(
        step_script(retrain, "retrain", check),
        env={"PATH": os.environ["PATH"], variable: ""},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and result.stdout.splitlines() == [
        f"::error::No {'cluster' if variant.has.kubeflow else 'data'} to train on: set the "
        f"repository variable {variable} (see the top of this file)."
    ]
