"""The render matrix, derived from copier.yml and the level features in extensions/."""

from __future__ import annotations

import glob
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

from extensions.ladder import (
    AVAILABLE_LEVELS,
    Features,
    LadderGlobals,
    default_python,
    features_for,
)

ROOT = Path(__file__).resolve().parents[1]
PYENV_VERSIONS = Path.home() / ".pyenv" / "versions"

# Other axes are cycled over the variants rather than multiplied: each name checks the
# rendered code stays formatted whatever the length of the package name, and each
# Python (of those this machine has) sets up and tests a project of its own.
PROJECT_NAMES = ("Churn Model", "Customer Lifetime Value Forecasting Service", "Fraud")


@cache
def copier_config() -> dict[str, Any]:
    """copier.yml as data: the template's settings and its questions."""
    return yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))


def questions() -> dict[str, Any]:
    return {name: spec for name, spec in copier_config().items() if not name.startswith("_")}


def render_jinja(source: str, **context: Any) -> str:
    """Render a snippet of copier.yml or template/ with the template's own extension."""
    environment = jinja2.Environment(
        extensions=[LadderGlobals], keep_trailing_newline=True, undefined=jinja2.StrictUndefined
    )
    return environment.from_string(source).render(**context)


def choice_values(question: str) -> list[Any]:
    choices = questions()[question]["choices"]
    return list(choices.values()) if isinstance(choices, dict) else list(choices)


@dataclass(frozen=True)
class Variant:
    level: int
    serving: str = "batch"
    answers: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def id(self) -> str:
        if features_for(self.level, self.serving).serving_choice:
            return f"L{self.level}-{self.serving}"
        return f"L{self.level}"

    @property
    def features(self) -> Features:
        return features_for(self.level, self.serving)

    @property
    def data(self) -> dict[str, Any]:
        return {"mlops_level": self.level, "serving": self.serving, **self.answers}


@cache
def pythons() -> dict[str, str]:
    """The python_version choices this machine has an interpreter for: version -> path."""
    found = {}
    for version in choice_values("python_version"):
        pattern = PYENV_VERSIONS / f"{version}.*" / "bin" / f"python{version}"
        candidates = [*sorted(glob.glob(str(pattern))), shutil.which(f"python{version}")]
        usable = [path for path in candidates if path and _runs(path)]
        if usable:
            found[version] = usable[0]
    return found


def _runs(interpreter: str) -> bool:
    return subprocess.run([interpreter, "--version"], capture_output=True).returncode == 0


def variants() -> list[Variant]:
    """Every level, times the serving choice where the level asks it."""
    axes = [
        (level, serving)
        for level in AVAILABLE_LEVELS
        for serving in (
            choice_values("serving") if features_for(level).serving_choice else ["batch"]
        )
    ]
    versions = sorted(pythons()) or [default_python()]
    last = max(len(axes) - 1, 1)
    return [
        Variant(
            level,
            serving,
            {
                "project_name": PROJECT_NAMES[index % len(PROJECT_NAMES)],
                # spread over the Pythons, the oldest and the newest included
                "python_version": versions[index * (len(versions) - 1) // last],
            },
        )
        for index, (level, serving) in enumerate(axes)
    ]


def params() -> list[Any]:
    """The variants as pytest params with readable ids (L1, L2-online, ...)."""
    return [pytest.param(variant, id=variant.id) for variant in variants()]


# The files each feature brings; which level has which feature is extensions' business.
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
    "src/{pkg}/model.py",
    "src/{pkg}/predict.py",
    "src/{pkg}/tracking.py",
    "src/{pkg}/train.py",
    "tests/conftest.py",
    "tests/test_data.py",
    "tests/test_jobs.py",
    "tests/test_model.py",
}
FEATURE_FILES: dict[str, set[str]] = {
    "pipeline": {
        "src/{pkg}/prepare.py",
        "src/{pkg}/evaluate.py",
        "src/{pkg}/pipeline.py",
        "tests/test_pipeline.py",
    },
    "registry": {"src/{pkg}/registry.py"},
    "ci": {".github/workflows/ci.yml", ".pre-commit-config.yaml"},
    "online": {
        "src/{pkg}/serve.py",
        "src/{pkg}/schema.py",
        "src/{pkg}/scoring.py",
        "examples/request.json",
        "tests/test_serve.py",
    },
}


def expected_files(features: Features, package_name: str) -> set[str]:
    files = set(BASE_FILES)
    for feature, paths in FEATURE_FILES.items():
        if getattr(features, feature):
            files |= paths
    return {path.format(pkg=package_name) for path in files}
