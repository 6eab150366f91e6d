"""The doctor's checks, as repo-review plugins: plain objects a team can read and extend.

Each feature of the ladder is a check named MLL<level><nn> in the family of its level;
each ML Test Score test is a check named MTS<section><n> (D data, M model, I infra,
O monitoring). `repo-review PATH` runs them, beside any other plugin installed;
`mlops-ladder doctor PATH` runs them and adds the level and the score.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlops_ladder._ladder import ladder
from mlops_ladder.evidence import Inventory
from mlops_ladder.score import SECTIONS, TESTS, AttestationError, read_attestations, result

SECTION_LETTERS = {"data": "D", "model": "M", "infra": "I", "monitor": "O"}


class FeatureCheck:
    """Passes when the repository shows the feature's evidence."""

    def __init__(self, feature: str, level: int) -> None:
        self.feature, self.level = feature, level
        self.family = f"mlops-level-{level}"
        self.requires: frozenset[str] = frozenset()
        gives = (
            ladder.FEATURES[feature].gives
            if feature in ladder.FEATURES
            else ladder.BASE_EVIDENCE[feature].adding
        )
        self.__doc__ = f"{feature}: {gives}"

    def check(self, evidence: Inventory) -> bool | str:
        missing = evidence.missing(self.feature)
        if not missing:
            return True
        rule = ladder.BASE_EVIDENCE.get(self.feature) or ladder.EVIDENCE[self.feature]
        return f"Not found: {'; '.join(missing)}. Adding it: {rule.adding}."


class ScoreCheck:
    """Passes when the ML Test Score test runs automatically (1 point)."""

    def __init__(self, test: Any) -> None:
        self.test = test
        self.family = f"mltestscore-{test.section}"
        self.requires: frozenset[str] = frozenset()
        self.__doc__ = f"{test.id}: {test.title}"

    def check(self, evidence: Inventory, attestations: dict[str, Any]) -> bool | str:
        outcome = result(evidence, self.test, attestations.get(self.test.id))
        if outcome.points == 1:
            return True
        return f"{outcome.status} ({outcome.points:g} point): {outcome.detail}"


def feature_levels() -> dict[str, int]:
    """Every feature with the level it belongs to, in the table's order; the base is 1."""
    levels = {name: 1 for name in ladder.BASE_EVIDENCE}
    levels |= {name: ladder.level_of(name) for name in ladder.FEATURES}
    return dict(sorted(levels.items(), key=lambda item: item[1]))


def check_names() -> dict[str, str]:
    """The check name of each feature (MLL201...) and of each score test (MTSD1...)."""
    names, counts = {}, dict.fromkeys(ladder.LEVELS, 0)
    for feature, level in feature_levels().items():
        counts[level] += 1
        names[feature] = f"MLL{level}{counts[level]:02d}"
    for test in TESTS:
        names[test.id] = f"MTS{SECTION_LETTERS[test.section]}{test.id.split('-')[1]}"
    return names


def repo_review_checks() -> dict[str, Any]:
    names = check_names()
    checks: dict[str, Any] = {
        names[feature]: FeatureCheck(feature, level) for feature, level in feature_levels().items()
    }
    checks |= {names[test.id]: ScoreCheck(test) for test in TESTS}
    return checks


def repo_review_families() -> dict[str, dict[str, Any]]:
    families: dict[str, dict[str, Any]] = {
        f"mlops-level-{level}": {
            "name": f"MLOps level {level}: {name}",
            "order": 10 + level,
        }
        for level, name in ladder.LEVELS.items()
    }
    for order, (section, title) in enumerate(SECTIONS.items()):
        families[f"mltestscore-{section}"] = {
            "name": f"ML Test Score: {title}",
            "order": 20 + order,
        }
    return families


def attestations(root: Any) -> dict[str, Any]:
    """repo-review fixture: the valid attestations of mltestscore.yaml ({} when invalid:
    `mlops-ladder doctor` reports the file's errors)."""
    try:
        return read_attestations(Path(str(root)))
    except AttestationError:
        return {}


def pyproject(package: Any) -> dict[str, Any]:
    """pyproject.toml as data, {} when it is missing or not valid TOML: doctor's stand-in
    for repo-review's own fixture, which stops at a broken file (doctor reports it)."""
    from mlops_ladder.repository import tomllib

    path = Path(str(package)) / "pyproject.toml"
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
