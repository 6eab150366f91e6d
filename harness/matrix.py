"""The render matrix, derived from copier.yml and the feature table in extensions/."""

from __future__ import annotations

import glob
import itertools
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import pytest

from extensions.ladder import (
    ASKED_FROM,
    BUILT_LEVELS,
    SUPPORTED_PYTHONS,
    Has,
    LadderGlobals,
    choices,
    default_python,
    next_level,
    project_has,
    questions,
)

ROOT = Path(__file__).resolve().parents[1]
PYENV_VERSIONS = Path.home() / ".pyenv" / "versions"

# Tier-gated questions whose answers change what the other answers render: every
# combination of them is a variant of its own. The other tier-gated questions are cycled.
INTERACTING = ("serving",)
# Other axes are cycled over the variants rather than multiplied: each name checks the
# rendered code stays formatted whatever the length of the package name (the second one
# makes a package name of exactly the longest allowed length), and each Python (of those
# this machine has) sets up and tests a project of its own.
PROJECT_NAMES = ("Churn Model", "Customer Lifetime Value Forecasting Service", "Fraud")


def render_jinja(source: str, **context: Any) -> str:
    """Render a snippet of copier.yml or template/ with the template's own extension."""
    environment = jinja2.Environment(
        extensions=[LadderGlobals], keep_trailing_newline=True, undefined=jinja2.StrictUndefined
    )
    return environment.from_string(source).render(**context)


@dataclass(frozen=True)
class Variant:
    """One rendered project: a level and the tier-gated answers it is given."""

    level: int
    choices: tuple[tuple[str, Any], ...] = ()
    identity: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def id(self) -> str:
        """L1, L2-online, ...: the level and the value of each tier-gated answer."""
        return "-".join([f"L{self.level}", *(str(value) for _, value in self.choices)])

    @property
    def answers(self) -> dict[str, Any]:
        return {"mlops_level": self.level, **dict(self.choices), **self.identity}

    @property
    def has(self) -> Has:
        return project_has(self.answers)


@cache
def pythons() -> dict[str, str]:
    """The python_version choices this machine has an interpreter for: version -> path."""
    found = {}
    for version in SUPPORTED_PYTHONS:
        pattern = PYENV_VERSIONS / f"{version}.*" / "bin" / f"python{version}"
        candidates = [*sorted(glob.glob(str(pattern))), shutil.which(f"python{version}")]
        usable = [path for path in candidates if path and _runs(path)]
        if usable:
            found[version] = usable[0]
    return found


def _runs(interpreter: str) -> bool:
    return subprocess.run([interpreter, "--version"], capture_output=True).returncode == 0


def level_choices(level: int) -> list[tuple[tuple[str, Any], ...]]:
    """The tier-gated answers of the variants at `level`: interacting ones multiplied."""
    gated = [question for question, since in ASKED_FROM.items() if since <= level]
    multiplied = [
        [(question, value) for value in choices(question)]
        for question in gated
        if question in INTERACTING
    ]
    cycled = [
        itertools.cycle([(question, value) for value in choices(question)])
        for question in gated
        if question not in INTERACTING
    ]
    return [
        tuple(sorted(product + tuple(next(axis) for axis in cycled), key=_question_order))
        for product in itertools.product(*multiplied)
    ]


def _question_order(pair: tuple[str, Any]) -> int:
    return list(questions()).index(pair[0])


def variants() -> list[Variant]:
    """Every built level, times the tier-gated answers its questions combine into."""
    axes = [(level, gated) for level in BUILT_LEVELS for gated in level_choices(level)]
    versions = sorted(pythons()) or [default_python()]
    last = max(len(axes) - 1, 1)
    return [
        Variant(
            level,
            gated,
            {
                "project_name": PROJECT_NAMES[index % len(PROJECT_NAMES)],
                # spread over the Pythons, the oldest and the newest included
                "python_version": versions[index * (len(versions) - 1) // last],
            },
        )
        for index, (level, gated) in enumerate(axes)
    ]


def params() -> list[Any]:
    """The variants as pytest params with readable ids (L1, L2-online, ...)."""
    return [pytest.param(variant, id=variant.id) for variant in variants()]


def rendered_only() -> list[Variant]:
    """Variants that give each answer the matrix cycles past, to be rendered and checked.

    The set-up variants cycle the answers that do not interact; these add a rendering of
    every remaining choice at the highest level that asks for it.
    """
    covered = {pair for variant in variants() for pair in variant.choices}
    extra = []
    for question, since in ASKED_FROM.items():
        if question in INTERACTING:
            continue
        level = max(level for level in BUILT_LEVELS if level >= since)
        base = dict(level_choices(level)[0])
        for value in choices(question):
            if (question, value) not in covered:
                gated = {**base, question: value}
                extra.append(Variant(level, tuple(sorted(gated.items(), key=_question_order))))
    return extra


# The files every project has, and the files each feature brings. Which level or
# answer brings which feature is extensions.ladder's business, not this table's.
BASE_FILES = {
    ".copier-answers.yml",
    ".gitignore",
    "Makefile",
    "README.md",
    "params.yaml",
    "pyproject.toml",
    "data/examples/sample.csv",
    "src/{pkg}/__init__.py",
    "src/{pkg}/__main__.py",
    "src/{pkg}/cli.py",
    "src/{pkg}/config.py",
    "src/{pkg}/data.py",
    "src/{pkg}/handover.py",
    "src/{pkg}/wiring.py",
    "src/{pkg}/model.py",
    "src/{pkg}/predict.py",
    "src/{pkg}/train.py",
    "src/{pkg}/tracking/__init__.py",
    "src/{pkg}/tracking/artifacts.py",
    "src/{pkg}/tracking/store.py",
    "tests/conftest.py",
    "tests/test_data.py",
    "tests/test_jobs.py",
    "tests/test_model.py",
}
FEATURE_FILES: dict[str, set[str]] = {
    "pipeline": {
        "src/{pkg}/stages/__init__.py",
        "src/{pkg}/stages/prepare.py",
        "src/{pkg}/stages/evaluate.py",
        "tests/test_stages.py",
    },
    "registry": {
        "src/{pkg}/tracking/registry.py",
        "src/{pkg}/stages/register.py",
        "src/{pkg}/stages/pipeline.py",
        "tests/test_registry.py",
    },
    "ci": {".github/workflows/ci.yml", ".pre-commit-config.yaml"},
    "online": {
        "src/{pkg}/serving/__init__.py",
        "src/{pkg}/serving/addons.py",
        "src/{pkg}/serving/app.py",
        "src/{pkg}/serving/fastpath.py",
        "src/{pkg}/serving/schema.py",
        "src/{pkg}/serving/scoring.py",
        "examples/request.json",
        "tests/test_serving.py",
    },
    "dvc": {
        ".dvc/.gitignore",
        ".dvc/config",
        ".dvcignore",
        "dvc.yaml",
        "src/{pkg}/snapshot.py",
        "tests/test_dvc.py",
    },
    "local_remote": set(),
    "cloud_remote": {".github/scripts/cloud-credentials.sh"},
    "validation": {
        "src/{pkg}/data_checks.py",
        "src/{pkg}/stages/validate.py",
        "tests/test_validation.py",
    },
    "lineage": {
        "src/{pkg}/governance/__init__.py",
        "src/{pkg}/governance/lineage.py",
        "tests/test_lineage.py",
    },
    "model_card": {
        "INTENDED_USE.md",
        "src/{pkg}/governance/model_card.py",
        "src/{pkg}/governance/holdout.py",
        "tests/test_model_card.py",
    },
    "audit": {
        "src/{pkg}/governance/audit.py",
        "src/{pkg}/governance/promote.py",
        "src/{pkg}/governance/approval.py",
        "tests/test_audit.py",
        "tests/test_promote.py",
    },
    "object_lock_anchor": {
        "src/{pkg}/governance/anchor_store.py",
        "tests/test_audit_anchor.py",
        ".github/scripts/cloud-credentials.sh",  # the anchor's login to AWS
    },
    "docker": {"Dockerfile", ".dockerignore", "compose.yaml"},
    "cd": {".github/workflows/cd.yml"},
    "repo_governance": {
        ".github/CODEOWNERS",
        ".github/dependabot.yml",
        ".github/pull_request_template.md",
    },
    "drift": {
        "src/{pkg}/drift.py",
        "data/examples/batch_clean.csv",
        "data/examples/batch_shifted.csv",
        "tests/test_drift.py",
    },
    "continuous_training": {
        ".github/workflows/retrain.yml",
        ".github/workflows/drift.yml",
        "tests/test_policy.py",
    },
    "template_updates": {".github/workflows/template-update.yml"},
    "service_metrics": {
        "src/{pkg}/serving/metrics.py",
        "src/{pkg}/serving/predictions.py",
        "src/{pkg}/performance.py",
        "tests/test_metrics.py",
        "tests/test_performance.py",
        "docs/runbooks/service.md",
        "docs/runbooks/performance.md",
    },
    "challenger_traffic": {"src/{pkg}/serving/challenger.py", "tests/test_challenger.py"},
    "input_sampling": {"src/{pkg}/serving/sampling.py", "tests/test_sampling.py"},
    "monitoring": {
        "monitoring/prometheus/prometheus.yml",
        "monitoring/prometheus/alerts.yml",
        "monitoring/prometheus/alerts_test.yml",
        "monitoring/grafana/dashboard.json",
        "docs/runbooks/drift.md",
    },
    "kubernetes": {
        "deploy/k8s/base/kustomization.yaml",
        "deploy/k8s/bootstrap/kustomization.yaml",
        "deploy/k8s/bootstrap/namespaces.yaml",
        "deploy/k8s/bootstrap/deployer.yaml",
        "deploy/k8s/bootstrap/deployer-kubeconfig.sh",
        "deploy/k8s/base/networkpolicy.yaml",
        "deploy/k8s/overlays/staging/kustomization.yaml",
        "deploy/k8s/overlays/prod/kustomization.yaml",
        "deploy/k8s/overlays/prod/model.env",
        "deploy/k8s/components/alert-rules/kustomization.yaml",
        "deploy/k8s/components/alert-rules/prometheusrule.yaml",
    },
    "kubeflow": {"pipelines/kubeflow.py"},
    "progressive_rollout": {
        "deploy/k8s/components/progressive-rollout/kustomization.yaml",
        "deploy/k8s/components/progressive-rollout/rollout.yaml",
        "deploy/k8s/components/progressive-rollout/analysis-template.yaml",
        "deploy/k8s/components/progressive-rollout/rollout-status.sh",
    },
}
# Files a feature brings only to online projects, or only to batch ones: the Kubernetes
# objects of the service, or the CronJob that scores batches instead.
SERVING_FILES: dict[str, dict[bool, set[str]]] = {
    "kubernetes": {
        True: {
            "deploy/k8s/base/deployment.yaml",
            "deploy/k8s/base/service.yaml",
            "deploy/k8s/base/hpa.yaml",
            "deploy/k8s/base/pdb.yaml",
            "deploy/k8s/base/service-networkpolicy.yaml",
            "deploy/k8s/components/input-sampling/kustomization.yaml",
            "deploy/k8s/components/input-sampling/samples-pvc.yaml",
            "deploy/k8s/components/input-sampling/drift-cronjob.yaml",
            "deploy/k8s/components/service-monitor/kustomization.yaml",
            "deploy/k8s/components/service-monitor/servicemonitor.yaml",
        },
        False: {
            "deploy/k8s/base/predict-cronjob.yaml",
            "deploy/k8s/base/data-pvc.yaml",
            "deploy/k8s/base/drift-cronjob.yaml",
            "docs/runbooks/scoring.md",
        },
    },
}
# Features that only change lines of other files (their checks test those lines).
LINE_FEATURES = {"local_remote"}


def expected_files(has: Has, package_name: str) -> set[str]:
    files = set(BASE_FILES)
    for feature in has:
        files |= FEATURE_FILES.get(feature, set())
        files |= SERVING_FILES.get(feature, {}).get(has.online, set())
    return {path.format(pkg=package_name) for path in files}


# The make targets every project has, and those each feature adds.
BASE_TARGETS = {"help", "setup", "train", "predict", "test", "lint", "format", "ui", "doctor"}
FEATURE_TARGETS: dict[str, set[str]] = {
    "registry": {"pipeline"},
    "online": {"serve"},
    "dvc": {"data", "repro", "push", "pull"},
    "cloud_remote": {"remote"},
    "audit": {"audit", "promote"},
    "drift": {"drift"},
    "continuous_training": {"retrain"},
    "service_metrics": {"performance"},
    "kubernetes": {
        "check-rules",
        "check-kubernetes",
        "check-docker",
        "check-workflows",
        "check-ops",
    },
    "kubeflow": {"kfp-compile", "kfp-run"},
}


def expected_targets(has: Has, level: int) -> set[str]:
    """The make targets of a project: its features', and a preview of the next level."""
    targets = BASE_TARGETS.union(*(FEATURE_TARGETS.get(feature, set()) for feature in has))
    return targets | ({"preview-level"} if next_level(level) else set())
