"""The MLOps ladder: the feature table, this release's facts and the level recommendation.

This module is the single source of truth for "what does level N give". It has four
parts, each stated once:

- the feature table: what each level adds, what each answer adds, what each feature
  needs (checked when the module loads);
- the project's flags, derived from its answers: ``has.online``, ``has.registry``...;
- facts about this release of the template: which levels it builds, the next level,
  whether a question is asked;
- the level recommendation and the answer checks.

Copier loads the two Jinja extensions at the bottom (``_jinja_extensions`` in
copier.yml); the template's tests and docs import the plain functions.
"""

from __future__ import annotations

import keyword
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from copier_template_extensions import ContextHook
from jinja2 import pass_context
from jinja2.ext import Extension
from jinja2.runtime import Context

COPIER_YML = Path(__file__).resolve().parents[1] / "copier.yml"


@cache
def copier_config() -> dict[str, Any]:
    """copier.yml as data: the template's settings and its questions."""
    return yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))


def questions() -> dict[str, dict[str, Any]]:
    """The questions of copier.yml, by name (settings starting with `_` left out)."""
    return {name: spec for name, spec in copier_config().items() if not name.startswith("_")}


def choices(question: str) -> list[Any]:
    """The values a question accepts, in copier.yml's order."""
    given = questions()[question]["choices"]
    return list(given.values()) if isinstance(given, dict) else list(given)


def default(question: str) -> Any:
    """A question's default as copier.yml states it (None when it is computed)."""
    value = questions()[question].get("default")
    return None if isinstance(value, str) and "{{" in value else value


LEVELS: dict[int, str] = {
    1: "Scripted",
    2: "Automated",
    3: "Governed",
    4: "Self-optimising",
}
LEVEL_SUMMARY: dict[int, str] = {
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


# --- The feature table ---------------------------------------------------------------


@dataclass(frozen=True)
class Feature:
    """One piece of machinery a project can have: what it gives and what it needs.

    A combined feature is added by no level and no answer: a project has it as soon as it
    has everything it requires (the online service gains metrics at level 4, say).
    """

    gives: str
    requires: tuple[str, ...] = ()
    combined: bool = False


FEATURES: dict[str, Feature] = {
    "pipeline": Feature("prepare, evaluate and register stages with an evaluation gate"),
    "registry": Feature(
        "the MLflow model registry with champion and challenger aliases",
        requires=("pipeline",),
    ),
    "ci": Feature("a GitHub Actions CI workflow and pre-commit hooks"),
    "template_updates": Feature(
        "a weekly workflow that opens a pull request with the template's newest release",
        requires=("ci",),
    ),
    "online": Feature("a FastAPI service for online predictions", requires=("registry",)),
    "dvc": Feature(
        "a DVC pipeline over the same stage commands, the raw data tracked, a data remote",
        requires=("pipeline", "registry"),
    ),
    "local_remote": Feature(
        "a DVC remote in a folder next to the project, shared by clones side by side",
        requires=("dvc",),
    ),
    "cloud_remote": Feature(
        "a DVC remote in object storage, located and authorised by environment variables",
        requires=("dvc",),
    ),
    "validation": Feature(
        "a pandera schema for the raw data, checked by a validate stage before prepare",
        requires=("pipeline",),
    ),
    "lineage": Feature(
        "every run and registered version tagged with its git commit and data hash",
        requires=("dvc", "registry"),
    ),
    "model_card": Feature("a model card for every registered version", requires=("lineage",)),
    "audit": Feature(
        "a tamper-evident audit trail of the stages, promotions and deployments",
        requires=("lineage",),
    ),
    "object_lock_anchor": Feature(
        "every head of the audit trail also written once to an S3 bucket with Object Lock "
        "(compliance mode), checked by make audit",
        requires=("audit",),
    ),
    "docker": Feature(
        "a Dockerfile for the service or the batch job, and a compose file with an MLflow server"
    ),
    "cd": Feature(
        "a CD workflow: the image to GHCR with provenance, promotion behind an approval",
        requires=("docker", "ci", "audit"),
    ),
    "repo_governance": Feature(
        "CODEOWNERS, a pull-request checklist for models and Dependabot", requires=("ci",)
    ),
    "drift": Feature(
        "drift reports of a batch against the champion's training data (make drift)",
        requires=("registry", "audit"),
    ),
    "continuous_training": Feature(
        "training workflows on a schedule and on drift, promoting only a better challenger",
        requires=("ci", "dvc", "drift"),
    ),
    "monitoring": Feature(
        "a Prometheus scrape config, alert rules with their unit tests, a Grafana dashboard",
        requires=("drift",),
    ),
    "kubernetes": Feature(
        "kustomize manifests (staging and prod overlays, the drift CronJob) and a deploy job",
        requires=("docker", "cd", "drift"),
    ),
    "kubeflow": Feature(
        "a Kubeflow Pipelines definition of the stages, run on the project's image",
        requires=("docker", "dvc"),
    ),
    "service_metrics": Feature(
        "the service's Prometheus metrics on GET /metrics",
        requires=("online", "monitoring"),
        combined=True,
    ),
    "challenger_traffic": Feature(
        "a share of live requests for the challenger (canary) or scored by it too (shadow)",
        requires=("service_metrics",),
        combined=True,
    ),
    "progressive_rollout": Feature(
        "each release as an Argo Rollouts canary, analysed on the service's metrics and"
        " rolled back automatically when they fail",
        requires=("kubernetes", "service_metrics"),
        combined=True,
    ),
    "input_sampling": Feature(
        "a sample of the rows the service scores, kept for the drift check",
        requires=("online", "drift"),
        combined=True,
    ),
}

# What each level adds to the one below; level 1 is the base every project has.
LEVEL_FEATURES: dict[int, tuple[str, ...]] = {
    1: (),
    2: ("pipeline", "registry", "ci", "template_updates"),
    3: (
        "dvc",
        "validation",
        "lineage",
        "model_card",
        "audit",
        "docker",
        "cd",
        "repo_governance",
    ),
    4: ("drift", "continuous_training", "monitoring", "kubernetes"),
}

# What an answer adds, from the level where its question is asked (ASKED_FROM).
CHOICE_FEATURES: dict[tuple[str, Any], tuple[str, ...]] = {
    ("serving", "online"): ("online",),
    ("data_remote", "local"): ("local_remote",),
    ("data_remote", "s3"): ("cloud_remote",),
    ("data_remote", "gcs"): ("cloud_remote",),
    ("data_remote", "azure"): ("cloud_remote",),
    ("audit_anchor", "s3-object-lock"): ("object_lock_anchor",),
    ("orchestrator", "kubeflow"): ("kubeflow",),
}

# Features a project has when it has all the features listed: the combined features of
# the table and what they require.
COMBINED_FEATURES: dict[str, tuple[str, ...]] = {
    name: feature.requires for name, feature in FEATURES.items() if feature.combined
}


class FeatureTableError(Exception):
    """The feature table contradicts itself; the message says where."""


def level_of(feature: str) -> int:
    """The lowest level at which a project can have `feature`."""
    if feature in COMBINED_FEATURES:
        return max(level_of(part) for part in COMBINED_FEATURES[feature])
    for level, names in LEVEL_FEATURES.items():
        if feature in names:
            return level
    for (question, _), names in CHOICE_FEATURES.items():
        if feature in names:
            return ASKED_FROM[question]
    raise FeatureTableError(f"feature {feature!r} is added by no level and no answer")


def _guaranteed_with(feature: str) -> set[str]:
    """The features every project that has `feature` has too."""
    if feature in COMBINED_FEATURES:
        parts = COMBINED_FEATURES[feature]
        found = set(parts).union(*(_guaranteed_with(part) for part in parts))
        return found | {name for name, more in COMBINED_FEATURES.items() if set(more) <= found}
    level = level_of(feature)
    below = {name for lower in LEVELS if lower <= level for name in LEVEL_FEATURES[lower]}
    answers = [set(names) for names in CHOICE_FEATURES.values() if feature in names]
    return below | (set.intersection(*answers) if answers else set())


def _places(feature: str) -> set[Any]:
    """Where `feature` is added: a level, or a question (any of whose answers may add it)."""
    levels = {level for level, names in LEVEL_FEATURES.items() if feature in names}
    return levels | {
        question for (question, _), names in CHOICE_FEATURES.items() if feature in names
    }


def check_feature_table() -> None:
    """Every named feature exists once, and needs only what is there at its level or below."""
    added = [name for names in LEVEL_FEATURES.values() for name in names] + [
        name for names in CHOICE_FEATURES.values() for name in names
    ]
    for name, parts in COMBINED_FEATURES.items():
        if name in added:
            raise FeatureTableError(f"feature {name!r} is added in more than one place")
        if not set(parts) <= set(added):
            raise FeatureTableError(f"{name!r} combines features that nothing adds: {parts}")
        added.append(name)
    for name in added:
        if name not in FEATURES:
            raise FeatureTableError(f"feature {name!r} is added but not described in FEATURES")
        if len(_places(name)) > 1:
            raise FeatureTableError(f"feature {name!r} is added in more than one place")
    for name, feature in FEATURES.items():
        if name not in added:
            raise FeatureTableError(f"feature {name!r} is described but nothing adds it")
        for needed in feature.requires:
            if needed not in FEATURES:
                raise FeatureTableError(f"{name!r} requires {needed!r}, which is no feature")
            if needed not in _guaranteed_with(name):
                raise FeatureTableError(
                    f"{name!r} (from level {level_of(name)}) requires {needed!r}, "
                    f"which a level-{level_of(name)} project does not always have"
                )
    for question, value in CHOICE_FEATURES:
        if question not in ASKED_FROM:
            raise FeatureTableError(f"{question!r} adds features but has no ASKED_FROM level")
        if value not in choices(question):
            raise FeatureTableError(f"{question}={value!r} is not a choice in copier.yml")


# --- A project's flags -----------------------------------------------------------------


class UnknownFeatureError(LookupError):
    """A template asked for a feature the table does not have (a typo, usually)."""


@dataclass(frozen=True)
class Has:
    """The features of one project: ``has.online`` is true when it has the online service.

    Templates switch files and blocks on these flags, never on the level itself. Asking
    for a feature the table does not have is an error, not a silent false.
    """

    names: frozenset[str]

    def __getattr__(self, name: str) -> bool:
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in FEATURES:
            raise UnknownFeatureError(
                f"no feature named {name!r}; the features are {', '.join(FEATURES)}"
            )
        return name in self.names

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __iter__(self) -> Iterator[str]:
        return (name for name in FEATURES if name in self.names)


def answer(question: str, answers: Mapping[str, Any]) -> Any:
    """The answer to `question`, or its copier.yml default when there is none."""
    value = answers.get(question)
    return default(question) if value is None else value


def project_level(answers: Mapping[str, Any]) -> int:
    level = int(answers["mlops_level"])
    if level not in LEVELS:
        raise ValueError(f"mlops_level must be one of {sorted(LEVELS)}, got {level}")
    return level


def project_has(answers: Mapping[str, Any]) -> Has:
    """The flags of the project these answers describe.

    A question skipped by ``when`` still puts its default among the answers, so an
    answer adds its features only where its question is asked.
    """
    level = project_level(answers)
    names = {name for lower in LEVELS if lower <= level for name in LEVEL_FEATURES[lower]}
    for (question, value), added in CHOICE_FEATURES.items():
        if asked(question, answers) and answer(question, answers) == value:
            names.update(added)
    while new := {
        name
        for name, parts in COMBINED_FEATURES.items()
        if name not in names and names.issuperset(parts)
    }:
        names |= new  # a combined feature may require another (challenger traffic: metrics)
    return Has(frozenset(names))


def pipeline_stages(has: Has) -> tuple[str, ...]:
    """The stages of the project's pipeline, in the order they run: `make pipeline`,
    dvc.yaml and the Kubeflow pipeline run them, the command and the README name them."""
    if not has.pipeline:
        return ()
    return ("validate",) * has.validation + ("prepare", "train", "evaluate", "register")


# --- This release of the template ------------------------------------------------------

# Levels whose machinery this release renders; choosing another one is refused.
BUILT_LEVELS = (1, 2, 3, 4)
# The level from which each tier-gated question is asked.
ASKED_FROM: dict[str, int] = {
    "serving": 2,
    "data_remote": 3,
    "audit_anchor": 3,
    "orchestrator": 4,
}


@dataclass(frozen=True)
class CloudRemote:
    """What a cloud data_remote needs: DVC's extra, the URL scheme, the credentials a
    person sets, and the repository variables of the workflows' keyless (OIDC) login."""

    extra: str  # dvc[<extra>]
    scheme: str  # <scheme>://bucket/path
    provider: str  # the cloud, by name
    credentials: str  # the environment variables a person sets, in words
    variables: dict[str, str]  # repository variable: what it holds


CLOUD_REMOTES: dict[str, CloudRemote] = {
    "s3": CloudRemote(
        "s3",
        "s3",
        "AWS",
        "`AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (or an AWS profile), and "
        "`AWS_ENDPOINT_URL` for an S3-compatible store",
        {"AWS_ROLE_ARN": "the ARN of the role the workflows assume"},
    ),
    "gcs": CloudRemote(
        "gs",
        "gs",
        "Google Cloud",
        "`GOOGLE_APPLICATION_CREDENTIALS`, the path of a credentials file",
        {
            "GCP_WORKLOAD_IDENTITY_PROVIDER": "projects/NUMBER/locations/global/"
            "workloadIdentityPools/POOL/providers/PROVIDER",
            "GCP_SERVICE_ACCOUNT": "the service account's email",
        },
    ),
    "azure": CloudRemote(
        "azure",
        "azure",
        "Azure",
        "`AZURE_STORAGE_CONNECTION_STRING`, or `AZURE_STORAGE_ACCOUNT` and `AZURE_STORAGE_KEY`",
        {
            "AZURE_CLIENT_ID": "the application (client) id of the app or managed identity",
            "AZURE_TENANT_ID": "the directory (tenant) id",
            "AZURE_STORAGE_ACCOUNT": "the storage account that holds the container",
        },
    ),
}
# The Python base image of the Dockerfile, by python_version: the newest slim Debian
# bookworm release, pinned by tag and digest (docker-library/repo-info); Dependabot
# proposes newer ones.
PYTHON_IMAGES: dict[str, str] = {
    "3.10": "3.10.21-slim-bookworm@sha256:"
    "673f009e3763f8d03953b525c89b03a9ee8ca315bf6b8006979b5c4a4e2e4d68",
    "3.11": "3.11.16-slim-bookworm@sha256:"
    "0bee7276f83efd4a1ee05bbbf4281d95ed28e079220a9457f25a93e3f1e3c31b",
    "3.12": "3.12.14-slim-bookworm@sha256:"
    "0f5b26b9518d002b6173fd61daad821fa340635ebfec5bba471013f9ca114579",
    "3.13": "3.13.14-slim-bookworm@sha256:"
    "67a1e1f215ccda113cfc024e8639049257e88f273898f595b61476d128d387e8",
}
SUPPORTED_PYTHONS: tuple[str, ...] = tuple(choices("python_version"))


def asked(question: str, answers: Mapping[str, Any]) -> bool:
    """Whether copier asks `question` of a project with these answers."""
    return project_level(answers) >= ASKED_FROM[question]


def next_level(level: int) -> int | None:
    """The level a project can move up to with this release, if any."""
    return int(level) + 1 if int(level) + 1 in BUILT_LEVELS else None


def default_python() -> str:
    """The Python running copier when the template supports it, else the newest supported."""
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    return running if running in SUPPORTED_PYTHONS else SUPPORTED_PYTHONS[-1]


check_feature_table()


# --- The level recommendation ----------------------------------------------------------
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
ASSESSMENT = ("team_size", "project_stage", "release_cadence", "compliance")


def recommend(answers: Mapping[str, Any]) -> tuple[int, str]:
    """The recommended level and a one-sentence reason, from the assessment answers."""
    if not _as_bool(answer("assess_maturity", answers)):
        return MIN_LEVEL, NO_ASSESSMENT_REASON
    given = {name: answer(name, answers) for name in ASSESSMENT}
    given["compliance"] = _as_bool(given["compliance"])
    for conditions, level, reason in RULES:
        if all(given[name] in allowed for name, allowed in conditions.items()):
            return level, reason
    raise AssertionError("the last rule matches every answer")  # pragma: no cover


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "yes", "y", "1", "on"}
    return bool(value)


# --- The evidence of each feature ---------------------------------------------------
#
# What in a repository shows that it has a feature: the rules `mlops-ladder doctor` checks
# (mlops_ladder/), on projects this template made and on any other. A feature is there
# when every clue of its evidence holds; a clue holds when any one of its alternatives is
# found. Globs match paths from the repository's root (`**/` is any folder depth); text
# is a (glob, regex) pair, true when the regex (multi-line: `^` starts any line) finds
# something in a file the glob matches.


@dataclass(frozen=True)
class Clue:
    """One fact that shows a feature, in words (`says`), and where it may be found."""

    says: str
    files: tuple[str, ...] = ()
    text: tuple[tuple[str, str], ...] = ()
    targets: tuple[str, ...] = ()  # make targets
    dependencies: tuple[str, ...] = ()  # distributions, from any dependency list
    features: tuple[str, ...] = ()  # features whose own evidence holds


@dataclass(frozen=True)
class Evidence:
    """What shows a feature (all the clues) and what adding it involves, in words."""

    clues: tuple[Clue, ...]
    adding: str


WORKFLOWS = ".github/workflows/*.y*ml"
PYTHON = "**/*.py"
YAML = "**/*.y*ml"

# The base every level-1 project has; a repository without it is not on the ladder yet.
BASE_EVIDENCE: dict[str, Evidence] = {
    "training": Evidence(
        (Clue("a training script", files=("**/train*.py", "**/training/*.py", "**/fit*.py")),),
        "move the training out of notebooks into a script the Makefile runs (`make train`)",
    ),
    "batch_prediction": Evidence(
        (Clue("a batch prediction script", files=("**/predict*.py", "**/inference*.py")),),
        "a script that scores a CSV with the trained model (`make predict`)",
    ),
    "tracking": Evidence(
        (
            Clue(
                "an experiment tracker among the dependencies",
                dependencies=("mlflow", "mlflow-skinny", "wandb", "neptune", "clearml", "dvclive"),
            ),
        ),
        "log params, metrics and the model of every run to MLflow (an embedded SQLite store)",
    ),
    "tests": Evidence(
        (Clue("tests", files=("tests/**/test_*.py", "**/test_*.py", "**/*_test.py")),),
        "pytest tests of the data loading, the model and the jobs (`make test`)",
    ),
    "tasks": Evidence(
        (
            Clue(
                "a task runner",
                files=(
                    "Makefile",
                    "makefile",
                    "GNUmakefile",
                    "justfile",
                    "mise.toml",
                    "Taskfile.y*ml",
                ),
            ),
        ),
        "a Makefile with setup, train, predict, test and lint targets",
    ),
}

EVIDENCE: dict[str, Evidence] = {
    "pipeline": Evidence(
        (
            Clue("a data preparation step", files=("**/prepare*.py", "**/preprocess*.py")),
            Clue("an evaluation step", files=("**/evaluate*.py", "**/evaluation*.py")),
        ),
        "prepare and evaluate stages handing over through files, with a metric threshold "
        "that stops a worse model (`make pipeline`)",
    ),
    "registry": Evidence(
        (
            Clue(
                "models registered in a model registry",
                text=((PYTHON, r"register_model|registered_model_name|registered_model_alias"),),
            ),
        ),
        "register each trained model in the MLflow registry, champion and challenger aliases",
    ),
    "ci": Evidence(
        (
            Clue(
                "a CI workflow",
                files=(WORKFLOWS, ".gitlab-ci.yml", ".circleci/config.yml", "azure-pipelines.yml"),
            ),
            Clue("pre-commit hooks", files=(".pre-commit-config.yaml", "lefthook.y*ml")),
        ),
        "a GitHub Actions workflow running lint, tests and the pipeline, and pre-commit hooks",
    ),
    "template_updates": Evidence(
        (
            Clue("a project template's answers file", files=(".copier-answers.yml", ".cruft.json")),
            Clue(
                "a workflow that applies the template's new releases",
                text=((WORKFLOWS, r"copier update|cruft update"),),
            ),
        ),
        "`mlops-ladder adopt` records the template's answers; a weekly workflow then proposes "
        "its new releases as pull requests",
    ),
    "online": Evidence(
        (
            Clue("a web framework", dependencies=("fastapi", "flask", "bentoml", "litserve")),
            Clue("a prediction endpoint", text=((PYTHON, r"""\(\s*["']/(predict|invocations)"""),)),
        ),
        "a FastAPI service with /health, /ready and /predict (`make serve`)",
    ),
    "dvc": Evidence(
        (
            Clue("a DVC pipeline", files=("dvc.yaml",)),
            Clue("a DVC configuration", files=(".dvc/config",)),
        ),
        "dvc.yaml over the same stage commands, the raw data tracked by DVC (`make repro`)",
    ),
    "local_remote": Evidence(
        (Clue("a DVC remote in a folder", text=((".dvc/config", r"url\s*=\s*(?![\w+-]+://)\S"),)),),
        "a DVC remote in a folder next to the project",
    ),
    "cloud_remote": Evidence(
        (
            Clue(
                "a DVC remote in object storage",
                text=((".dvc/config", r"url\s*=\s*(s3|gs|azure|gdrive|ssh|https?)://"),),
            ),
        ),
        "a DVC remote in S3, GCS or Azure, located and authorised by environment variables",
    ),
    "validation": Evidence(
        (
            Clue(
                "a data validation library",
                dependencies=(
                    "pandera",
                    "great-expectations",
                    "tensorflow-data-validation",
                    "deepchecks",
                    "pointblank",
                ),
            ),
        ),
        "a pandera schema of the raw data, checked by a validate stage before prepare",
    ),
    "lineage": Evidence(
        (
            Clue(
                "runs tagged with their git commit",
                text=((PYTHON, r"git_commit|mlflow\.source\.git\.commit|rev-parse"),),
            ),
            Clue("versioned data", features=("dvc",)),
        ),
        "every run and registered version tagged with its git commit and data hash",
    ),
    "model_card": Evidence(
        (
            Clue(
                "model cards",
                files=("INTENDED_USE.md", "MODEL_CARD.md", "**/model_card*", "**/model_cards/*"),
            ),
        ),
        "INTENDED_USE.md and a model card written for every registered version",
    ),
    "audit": Evidence(
        (
            Clue(
                "an audit trail",
                files=("**/audit.py", "audit/*.jsonl"),
                targets=("audit",),
            ),
        ),
        "a hash-chained audit trail of stages, promotions and deployments (`make audit`)",
    ),
    "object_lock_anchor": Evidence(
        (
            Clue("an audit trail", features=("audit",)),
            Clue(
                "the trail's heads in write-once storage",
                text=((PYTHON, r"ObjectLockMode|ObjectLockRetainUntilDate|immutability_policy"),),
            ),
        ),
        "write each head of the audit trail once to an S3 bucket with Object Lock in "
        "compliance mode (audit_anchor=s3-object-lock), and check the trail against them",
    ),
    "docker": Evidence(
        (Clue("a Dockerfile", files=("Dockerfile", "**/Dockerfile", "**/*.Dockerfile")),),
        "a Dockerfile for the service or the batch job, and a compose file with MLflow",
    ),
    "cd": Evidence(
        (
            Clue(
                "a workflow that publishes an image or deploys",
                text=((WORKFLOWS, r"docker/build-push-action|docker push|kubectl apply"),),
            ),
            Clue("an approval before production", text=((WORKFLOWS, r"environment:"),)),
        ),
        "a CD workflow: the image to GHCR with provenance, promotion behind an approval",
    ),
    "repo_governance": Evidence(
        (
            Clue("code owners", files=("CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS")),
            Clue(
                "dependency update automation",
                files=(".github/dependabot.y*ml", "renovate.json", ".github/renovate.json"),
            ),
        ),
        "CODEOWNERS, a pull-request checklist for models and Dependabot",
    ),
    "drift": Evidence(
        (
            Clue(
                "a drift detection library",
                dependencies=("evidently", "alibi-detect", "nannyml", "whylogs", "frouros"),
            ),
        ),
        "drift reports of a batch against the champion's training data (`make drift`)",
    ),
    "continuous_training": Evidence(
        (
            Clue(
                "a scheduled training workflow",
                text=((WORKFLOWS, r"(?s)\A(?=.*^\s*schedule:)(?=.*\b(re)?train)"),),
            ),
            Clue("retraining triggered by drift", text=((WORKFLOWS, r"drift"),)),
        ),
        "training workflows on a schedule and on drift, promoting only a better challenger",
    ),
    "monitoring": Evidence(
        (
            Clue("a Prometheus configuration", files=("**/prometheus.y*ml",)),
            Clue("alert rules", text=((YAML, r"^\s*-?\s*alert:"),)),
            Clue("a dashboard", files=("**/grafana/**/*.json", "**/*dashboard*.json")),
        ),
        "a Prometheus scrape config, alert rules with promtool tests, a Grafana dashboard",
    ),
    "kubernetes": Evidence(
        (
            Clue(
                "Kubernetes manifests",
                files=("**/kustomization.y*ml", "**/Chart.yaml"),
                text=((YAML, r"^kind:\s*(Deployment|CronJob|StatefulSet)\b"),),
            ),
        ),
        "kustomize manifests (staging and prod overlays, the drift CronJob) and a deploy job",
    ),
    "kubeflow": Evidence(
        (
            Clue(
                "a Kubeflow pipeline",
                dependencies=("kfp",),
                text=((PYTHON, r"^\s*(from kfp\b|import kfp\b)"),),
            ),
        ),
        "a Kubeflow Pipelines definition of the stages (orchestrator=kubeflow)",
    ),
    "service_metrics": Evidence(
        (
            Clue("a service", features=("online",)),
            Clue(
                "Prometheus metrics in the service",
                dependencies=("prometheus-client", "prometheus-fastapi-instrumentator"),
            ),
        ),
        "the service's request counts and latencies on GET /metrics",
    ),
    "challenger_traffic": Evidence(
        (
            Clue("a service", features=("online",)),
            Clue(
                "a canary or shadow model",
                files=("**/challenger.py", "**/canary.py", "**/shadow.py"),
            ),
        ),
        "a share of live requests for the challenger (canary) or scored by it too (shadow)",
    ),
    "progressive_rollout": Evidence(
        (
            Clue("Kubernetes manifests", features=("kubernetes",)),
            Clue(
                "a canary rollout judged on the service's metrics",
                text=((YAML, r"^kind:\s*(Rollout|Canary)\b"),),
            ),
        ),
        "each release as an Argo Rollouts canary, analysed on the service's metrics and"
        " rolled back automatically when they fail",
    ),
    "input_sampling": Evidence(
        (
            Clue("a service", features=("online",)),
            Clue(
                "scored rows kept for the drift check",
                files=("**/sampling.py",),
                text=((PYTHON, r"SAMPLE_RATE|sample_rate"),),
            ),
        ),
        "a sample of the rows the service scores, kept for the drift check",
    ),
}


def check_evidence() -> None:
    """Every feature of the table has evidence, and evidence names only real features."""
    missing = set(FEATURES) - set(EVIDENCE)
    if missing:
        raise FeatureTableError(f"features without evidence in EVIDENCE: {sorted(missing)}")
    for name, evidence in {**BASE_EVIDENCE, **EVIDENCE}.items():
        if name not in FEATURES and name not in BASE_EVIDENCE:
            raise FeatureTableError(f"EVIDENCE has {name!r}, which is no feature")
        if not evidence.clues:
            raise FeatureTableError(f"the evidence of {name!r} has no clue")
        for clue in evidence.clues:
            if not (clue.files or clue.text or clue.targets or clue.dependencies or clue.features):
                raise FeatureTableError(f"{name!r}: the clue {clue.says!r} looks for nothing")
            for needed in clue.features:
                if needed not in EVIDENCE:
                    raise FeatureTableError(f"{name!r}: {needed!r} is no feature")
            for _, pattern in clue.text:
                re.compile(pattern)


check_evidence()


# --- Answer checks ---------------------------------------------------------------------

RESERVED_PACKAGE_NAMES = frozenset(
    {"src", "test", "tests", "docs", "site", "setup", "mlflow", "sklearn", "pandas"}
    | {"numpy", "yaml", "fastapi", "dvc", "evidently", "pandera", "pytest"}
) | frozenset(sys.stdlib_module_names)
PACKAGE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Long enough for three words; short enough that `from <package>.tracking.registry
# import champion_uri` still reads as one natural line.
MAX_PACKAGE_NAME = 32


def package_name_error(name: str) -> str:
    """Why ``name`` cannot be the package name, or "" when it can."""
    if not name:
        return "package_name is empty; give a Python import name such as churn_model"
    if not PACKAGE_NAME.match(name):
        return (
            f"package_name '{name}' is not a Python import name; use lowercase letters, "
            "digits and underscores, starting with a letter (e.g. churn_model)"
        )
    if len(name) > MAX_PACKAGE_NAME:
        return (
            f"package_name '{name}' has {len(name)} characters; keep it to "
            f"{MAX_PACKAGE_NAME} or fewer (e.g. {name[:MAX_PACKAGE_NAME].rstrip('_')})"
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return f"package_name '{name}' is a Python keyword; choose another, e.g. {name}_model"
    if name in RESERVED_PACKAGE_NAMES:
        return (
            f"package_name '{name}' would shadow the module of the same name that the "
            f"project imports; choose another, e.g. {name}_model"
        )
    return ""


# --- Jinja extensions ------------------------------------------------------------------


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
    return recommend(context)[0]


@pass_context
def _recommendation_reason(context: Context) -> str:
    return recommend(context)[1]


@pass_context
def _default_level(context: Context) -> int:
    """The recommendation, capped at the highest level this release builds."""
    return min(recommend(context)[0], max(BUILT_LEVELS))


@pass_context
def _asked(context: Context, question: str) -> bool:
    return asked(question, context)


class LadderGlobals(Extension):
    """Functions and filters that copier.yml uses in defaults, help texts and validators."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        environment.globals.update(
            asked=_asked,
            built_levels=BUILT_LEVELS,
            cloud_remotes=CLOUD_REMOTES,
            python_images=PYTHON_IMAGES,
            default_level=_default_level,
            default_python=default_python,
            level_summary=LEVEL_SUMMARY,
            levels=LEVELS,
            next_level=next_level,
            previous_level=_previous_level,
            recommendation_reason=_recommendation_reason,
            recommended_level=_recommended_level,
        )
        environment.filters["package_name_error"] = package_name_error


def dist_name(package: str) -> str:
    """The distribution's name, and the model's, the image's and the Kubernetes objects'."""
    return package.replace("_", "-")


def image_name(package: str) -> str:
    """The container image, before the CD workflow names the owner's registry path."""
    return f"ghcr.io/OWNER/{dist_name(package)}"


def metric_prefix(package: str) -> str:
    """What every Prometheus series of the project starts with (before `_`)."""
    return package


# The actions the workflows use, pinned by commit with the release in a comment (the
# generated Dependabot configuration moves them in a project): each pin stated once.
ACTIONS: dict[str, str] = {
    name: f"{action}@{commit} # {release}"
    for name, (action, commit, release) in {
        "checkout": ("actions/checkout", "3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
        "setup_uv": ("astral-sh/setup-uv", "20cfd1bf945f4377ade1205e4dbc17946fc9a30d", "v10.0.1"),
        "upload_artifact": (
            "actions/upload-artifact",
            "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f",
            "v7.0.0",
        ),
        "attest": ("actions/attest", "1e69f48acb82d1966a394da916b4c1698aa569d6", "v4.2.2"),
        "setup_buildx": (
            "docker/setup-buildx-action",
            "37fe631027851001ddb9b187196cc803df7f5f0e",
            "v4.3.0",
        ),
        "docker_login": (
            "docker/login-action",
            "4907a6ddec9925e35a0a9e82d7399ccc52663121",
            "v4.1.0",
        ),
        "docker_metadata": (
            "docker/metadata-action",
            "dc802804100637a589fabce1cb79ff13a1411302",
            "v6.2.0",
        ),
        "docker_build_push": (
            "docker/build-push-action",
            "53b7df96c91f9c12dcc8a07bcb9ccacbed38856a",
            "v7.3.0",
        ),
    }.items()
}


# Where the online service keeps the request bodies it samples for the drift check.
SAMPLES_DIR = "data/samples"


def cloud_logins(has: Has, data_remote: str) -> list[str]:
    """The clouds the workflows log in to (keys of CLOUD_REMOTES), the data remote's first:
    S3 too for the audit trail's write-once anchor, if the data lives elsewhere."""
    logins = [data_remote] if has.cloud_remote else []
    if has.object_lock_anchor and "s3" not in logins:
        logins.append("s3")
    return logins


class LadderContext(ContextHook):
    """Adds ``has``, the project's feature flags (see Has), and the values derived from
    them and the answers (``stages``, ``dist_name``, ``image_name``, ``metric_prefix``,
    ``samples_dir``) to every rendered file, so each is stated once."""

    def hook(self, context: dict[str, Any]) -> None:
        if str(context.get("mlops_level")) not in {str(level) for level in LEVELS}:
            return  # not answered yet, or about to be refused by the validator
        context["has"] = project_has(context)
        context["stages"] = pipeline_stages(context["has"])
        package = str(context.get("package_name", ""))
        context["dist_name"] = dist_name(package)
        context["image_name"] = image_name(package)
        context["metric_prefix"] = metric_prefix(package)
        context["samples_dir"] = SAMPLES_DIR
        context["actions"] = ACTIONS
        context["cloud_logins"] = cloud_logins(context["has"], str(context.get("data_remote")))
