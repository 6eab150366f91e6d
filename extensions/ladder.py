"""The MLOps ladder: levels, the features each level adds, and the level recommendation.

This module is the single source of truth for "what does level N give". Copier loads
the two Jinja extensions at the bottom (see ``_jinja_extensions`` in copier.yml); the
template's tests import the plain functions directly.
"""

from __future__ import annotations

import keyword
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from copier_template_extensions import ContextHook
from jinja2 import pass_context
from jinja2.ext import Extension
from jinja2.runtime import Context

LEVELS: dict[int, str] = {
    1: "Scripted",
    2: "Automated",
    3: "Governed",
    4: "Self-optimising",
}
LEVEL_ADDS: dict[int, str] = {
    1: "a training script with MLflow tracking on an embedded SQLite store, batch "
    "prediction, tests and a Makefile",
    2: "pipeline stages with an evaluation gate, the MLflow model registry with "
    "champion/challenger aliases, GitHub Actions CI, pre-commit and an optional "
    "online FastAPI service",
    3: "a DVC pipeline with a data remote, data validation, a Dockerfile, a CD workflow "
    "with approval, model cards and a tamper-evident audit trail",
    4: "scheduled and drift-triggered training, drift reports, Prometheus metrics and "
    "alerts, a Grafana dashboard and Kubernetes manifests",
}
MIN_LEVEL, MAX_LEVEL = min(LEVELS), max(LEVELS)
# Levels whose machinery this version of the template renders; the rest are refused.
AVAILABLE_LEVELS = (1, 2)
SUPPORTED_PYTHONS = ("3.10", "3.11", "3.12", "3.13")
FALLBACK_PYTHON = "3.12"


@dataclass(frozen=True)
class Features:
    """What a rendered project contains. Templates test these flags, never the level."""

    level: int
    level_name: str
    next_level: int | None
    pipeline: bool  # prepare/evaluate/register stages and `make pipeline`
    registry: bool  # MLflow model registry with aliases
    ci: bool  # GitHub Actions CI and pre-commit
    serving_choice: bool  # the `serving` question is asked
    online: bool  # FastAPI service and `make serve`

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def features_for(level: int, serving: str = "batch") -> Features:
    """Derive the feature flags from the answers.

    A question skipped by ``when`` still puts its default in the context, so every
    choice that only exists from some level on is gated on the level here.
    """
    level = int(level)
    if level not in LEVELS:
        raise ValueError(f"mlops_level must be one of {sorted(LEVELS)}, got {level}")
    automated = level >= 2
    return Features(
        level=level,
        level_name=LEVELS[level],
        next_level=level + 1 if level + 1 in AVAILABLE_LEVELS else None,
        pipeline=automated,
        registry=automated,
        ci=automated,
        serving_choice=automated,
        online=automated and serving == "online",
    )


# --- The level recommendation -------------------------------------------------------
#
# Rules are read top to bottom; the first whose conditions all hold wins. A condition
# is an answer name and the set of values that satisfy it. The answers and their
# choices are the assessment questions of copier.yml.

RULES: list[tuple[dict[str, set[Any]], int, str]] = [
    (
        {"project_stage": {"scaled"}},
        4,
        "many models in production need retraining and monitoring that run without a person",
    ),
    (
        {"project_stage": {"production"}, "release_cadence": {"daily"}},
        4,
        "a production model released daily needs continuous training and drift detection",
    ),
    (
        {"compliance": {True}},
        3,
        "compliance needs versioned data, an audit trail and approved deployments",
    ),
    (
        {"project_stage": {"production"}},
        3,
        "a model the business relies on needs versioned data, validation and approved deployments",
    ),
    (
        {"project_stage": {"mvp"}},
        2,
        "an MVP ships regularly, so CI, a model registry and an evaluation gate pay off",
    ),
    (
        {"release_cadence": {"weekly", "daily"}},
        2,
        "frequent releases are only safe when CI and an evaluation gate do the checking",
    ),
    (
        {"team_size": {"small", "large"}},
        2,
        "several people share models, so a registry and CI keep them in step",
    ),
    (
        {},
        1,
        "a small research team needs tracked experiments, not infrastructure",
    ),
]
NO_ASSESSMENT_REASON = "no assessment was answered; level 1 is the smallest start"


def recommend(
    team_size: str = "solo",
    project_stage: str = "research",
    release_cadence: str = "rarely",
    compliance: bool = False,
) -> tuple[int, str]:
    """Return the recommended level and a one-sentence reason."""
    answers = {
        "team_size": team_size,
        "project_stage": project_stage,
        "release_cadence": release_cadence,
        "compliance": _as_bool(compliance),
    }
    for conditions, level, reason in RULES:
        if all(answers[name] in allowed for name, allowed in conditions.items()):
            return level, reason
    raise AssertionError("the last rule matches every answer")  # pragma: no cover


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "yes", "y", "1", "on"}
    return bool(value)


def _recommendation(context: Any) -> tuple[int, str]:
    if not _as_bool(context.get("assess_maturity", True)):
        return MIN_LEVEL, NO_ASSESSMENT_REASON
    return recommend(
        context.get("team_size", "solo"),
        context.get("project_stage", "research"),
        context.get("release_cadence", "rarely"),
        context.get("compliance", False),
    )


# --- Answer validation --------------------------------------------------------------

RESERVED_PACKAGE_NAMES = frozenset(
    {"src", "test", "tests", "docs", "site", "setup", "mlflow", "sklearn", "pandas"}
    | {"numpy", "yaml", "fastapi", "dvc", "evidently", "pandera", "pytest"}
) | frozenset(sys.stdlib_module_names)
PACKAGE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def package_name_error(name: str) -> str:
    """Why ``name`` cannot be the package name, or "" when it can."""
    if not name:
        return "package_name is empty; give a Python import name such as churn_model"
    if not PACKAGE_NAME.match(name):
        return (
            f"package_name '{name}' is not a Python import name; use lowercase letters, "
            "digits and underscores, starting with a letter (e.g. churn_model)"
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return f"package_name '{name}' is a Python keyword; choose another, e.g. {name}_model"
    if name in RESERVED_PACKAGE_NAMES:
        return (
            f"package_name '{name}' would shadow the module of the same name that the "
            f"project imports; choose another, e.g. {name}_model"
        )
    return ""


def default_python() -> str:
    """The Python running copier when the template supports it, else a supported one."""
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    return running if running in SUPPORTED_PYTHONS else FALLBACK_PYTHON


# --- Jinja extensions ---------------------------------------------------------------


@pass_context
def _previous_level(context: Context) -> int | None:
    """The level recorded in the destination's answers file (on update), else None."""
    conf = context.get("_copier_conf") or {}
    answers_file = Path(conf.get("dst_path", ".")) / conf.get("answers_file", ".copier-answers.yml")
    if not answers_file.is_file():
        return None
    recorded = yaml.safe_load(answers_file.read_text(encoding="utf-8")) or {}
    level = recorded.get("mlops_level")
    return int(level) if level is not None else None


@pass_context
def _recommended_level(context: Context) -> int:
    return _recommendation(context)[0]


@pass_context
def _default_level(context: Context) -> int:
    """The recommendation, capped at the highest level this template version renders."""
    return min(_recommendation(context)[0], max(AVAILABLE_LEVELS))


@pass_context
def _recommendation_reason(context: Context) -> str:
    return _recommendation(context)[1]


class LadderGlobals(Extension):
    """Functions and filters that copier.yml uses in defaults, help texts and validators."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        environment.globals["default_python"] = default_python
        environment.globals["recommended_level"] = _recommended_level
        environment.globals["recommendation_reason"] = _recommendation_reason
        environment.globals["level_features"] = features_for
        environment.globals["previous_level"] = _previous_level
        environment.globals["default_level"] = _default_level
        environment.globals["available_levels"] = AVAILABLE_LEVELS
        environment.globals["levels"] = LEVELS
        environment.globals["level_adds"] = LEVEL_ADDS
        environment.filters["package_name_error"] = package_name_error


class LadderContext(ContextHook):
    """Adds ``features`` (see Features) and ``recommendation`` to every rendered file."""

    def hook(self, context: dict[str, Any]) -> None:
        level = context.get("mlops_level")
        if str(level) not in {str(known) for known in LEVELS}:
            return  # not answered yet, or about to be refused by the validator
        context["features"] = features_for(level, context.get("serving", "batch"))
        level_recommended, reason = _recommendation(context)
        context["recommended"] = {"level": level_recommended, "reason": reason}
