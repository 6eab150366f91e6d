"""`mlops-ladder doctor`: the level a repository meets, what the next level lacks, and its
ML Test Score, from the repo-review checks of mlops_ladder.checks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from repo_review.checks import collect_checks
from repo_review.families import collect_families
from repo_review.fixtures import collect_fixtures, compute_fixtures
from repo_review.processor import CollectionReturn, process

from mlops_ladder._ladder import ladder
from mlops_ladder.checks import check_names, feature_levels, pyproject
from mlops_ladder.score import AttestationError, read_attestations, score

# Exit statuses (docs/doctor.md): the report was made and meets the bars asked for;
# below --min-level or --min-score; the input could not be used (the message says why).
OK, BELOW, UNUSABLE = 0, 1, 2


class UnusableInput(Exception):
    """The path, the answers or the attestations cannot be used; the message says why."""


@dataclass(frozen=True)
class Recommendation:
    level: int
    reason: str
    source: str


def level_features(level: int) -> tuple[str, ...]:
    """The features a level adds (level 1: the base every project has)."""
    return tuple(ladder.BASE_EVIDENCE) if level == 1 else ladder.LEVEL_FEATURES[level]


def examine(path: Path, answers: dict[str, Any] | None = None, source: str = "") -> dict[str, Any]:
    """The report on the repository at `path`, as data (the JSON output)."""
    if not path.is_dir():
        raise UnusableInput(f"{path} is not a folder; give the path of a repository")
    try:
        attestations = read_attestations(path)
    except AttestationError as error:
        raise UnusableInput(str(error)) from None
    collected = collect(path)
    names = check_names()
    ours = set(names.values())
    _, results = process(path, collected=collected, select=frozenset(ours))
    passed = {result.name: bool(result.result) for result in results}
    inventory = collected.fixtures["evidence"]

    present = {feature: passed[names[feature]] for feature in feature_levels()}
    met = 0
    for level in ladder.LEVELS:
        if all(present[feature] for feature in level_features(level)):
            met = level
        else:
            break
    following = met + 1 if met + 1 in ladder.LEVELS else None
    missing = [
        {
            "feature": feature,
            "gives": _gives(feature),
            "not_found": inventory.missing(feature),
            "adding": _rule(feature).adding,
        }
        for feature in (level_features(following) if following else ())
        if not present[feature]
    ]
    points = score(inventory, attestations)
    report: dict[str, Any] = {
        "path": str(path),
        "name": path.resolve().name,
        "level": met,
        "level_name": ladder.LEVELS.get(met, "not on the ladder yet"),
        "next_level": following
        and {
            "level": following,
            "name": ladder.LEVELS[following],
            "missing": missing,
        },
        "features": {
            feature: {
                "level": level,
                "present": present[feature],
                "found": inventory.where(feature),
                "not_found": inventory.missing(feature),
            }
            for feature, level in feature_levels().items()
        },
        "score": {
            "final": points["final"],
            "band": points["band"],
            "sections": points["sections"],
            "tests": [
                {
                    "id": r.test.id,
                    "title": r.test.title,
                    "points": r.points,
                    "status": r.status,
                    "detail": r.detail,
                }
                for r in points["results"]
            ],
        },
        "recommendation": None,
        "problems": list(inventory.repo.problems),
    }
    recommendation = recommend(path, answers, source)
    if recommendation:
        report["recommendation"] = recommendation.__dict__
    return report


def collect(path: Path) -> CollectionReturn:
    """repo-review's collect_all, with a pyproject fixture that takes a broken
    pyproject.toml as empty (doctor reports it) where repo-review's own would stop."""
    functions = {**collect_fixtures(), "pyproject": pyproject}
    fixtures = compute_fixtures(path, path, functions)
    return CollectionReturn(fixtures, collect_checks(fixtures), collect_families(fixtures))


def _rule(feature: str) -> Any:
    return ladder.BASE_EVIDENCE.get(feature) or ladder.EVIDENCE[feature]


def _gives(feature: str) -> str:
    return ladder.FEATURES[feature].gives if feature in ladder.FEATURES else _rule(feature).adding


# --- The maturity recommendation --------------------------------------------------------


def read_answers(file: Path) -> dict[str, Any]:
    """Assessment answers from a YAML file (a .copier-answers.yml will do)."""
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise UnusableInput(f"cannot read the answers file {file}: {error.strerror}") from None
    except yaml.YAMLError:
        raise UnusableInput(f"the answers file {file} is not valid YAML") from None
    if not isinstance(data, dict):
        raise UnusableInput(f"the answers file {file} must be a mapping, e.g. team_size: small")
    return data


def check_answers(answers: dict[str, Any], source: str) -> None:
    for name in ladder.ASSESSMENT:
        if name in answers and name != "compliance":
            allowed = ladder.choices(name)
            if answers[name] not in allowed:
                raise UnusableInput(
                    f"{source}: {name} is {answers[name]!r}; choose one of "
                    + ", ".join(map(str, allowed))
                )


def recommend(path: Path, answers: dict[str, Any] | None, source: str) -> Recommendation | None:
    """The recommended level from the answers given, else from the project's own answers
    file (a project the template made), else None."""
    if answers is None:
        recorded = path / ".copier-answers.yml"
        if not recorded.is_file():
            return None
        try:
            answers = read_answers(recorded)
        except UnusableInput:
            return None
        if not any(name in answers for name in ladder.ASSESSMENT):
            return None
        source = ".copier-answers.yml"
    check_answers(answers, source)
    level, reason = ladder.recommend({"assess_maturity": True, **answers})
    return Recommendation(level, reason, source)


def ask_answers() -> dict[str, Any]:
    """The assessment questions of copier.yml, asked on the terminal."""
    from rich.prompt import Confirm, Prompt

    answers: dict[str, Any] = {}
    for name in ladder.ASSESSMENT:
        spec = ladder.questions()[name]
        question = spec.get("help", name).split("\n")[0]
        if name == "compliance":
            answers[name] = Confirm.ask(question, default=False)
        else:
            given = [str(value) for value in ladder.choices(name)]
            answers[name] = Prompt.ask(question, choices=given, default=str(ladder.default(name)))
    return answers
