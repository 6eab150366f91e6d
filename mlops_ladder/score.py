"""The ML Test Score (Breck et al., 2017, "The ML Test Score: A Rubric for ML Production
Readiness and Technical Debt Reduction"): 28 tests in four sections of seven.

A test earns 1 point when it runs automatically (its evidence is found, and a workflow,
a scheduled job or the service itself runs it), 0.5 when it is run by hand with a
documented result (an attestation in mltestscore.yaml), 0 otherwise. A section's score
is the sum of its tests; the final score is the lowest of the four sections.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlops_ladder._ladder import ladder
from mlops_ladder.evidence import Inventory

Clue = ladder.Clue
WORKFLOWS, PYTHON, YAML = ladder.WORKFLOWS, ladder.PYTHON, ladder.YAML
ATTESTATIONS = "mltestscore.yaml"
SECTIONS = {
    "data": "Tests for features and data",
    "model": "Tests for model development",
    "infra": "Tests for ML infrastructure",
    "monitor": "Monitoring tests for ML",
}
# What a final score means (the paper's Table 2): the lowest bound each band starts above.
BANDS: list[tuple[float, str]] = [
    (5, "Exceptional levels of automated testing and monitoring."),
    (
        3,
        "Strong levels of automated testing and monitoring, appropriate for mission-critical "
        "systems.",
    ),
    (
        2,
        "Reasonably tested, but it's possible that more of those tests and procedures may be "
        "automated.",
    ),
    (
        1,
        "There's been first pass at basic productionization, but additional investment may be "
        "needed.",
    ),
    (
        0,
        "Not totally untested, but it is worth considering the possibility of serious holes in "
        "reliability.",
    ),
]
NO_POINTS_BAND = "More of a research project than a productionized system."

# What makes a found test automatic.
RUN_BY_CI_TESTS = Clue(
    "a workflow runs the tests",
    text=((WORKFLOWS, r"pytest|\b(make|just|mise run|task|tox|nox|poe)\b[^\n]*\btest"),),
)
RUN_BY_PIPELINE = Clue(
    "a workflow runs the training pipeline",
    text=((WORKFLOWS, r"\b(make|just|mise run|task) (pipeline|train|repro|retrain)\b|dvc repro"),),
)
SCHEDULED_DRIFT = Clue(
    "a scheduled workflow runs the drift check",
    text=((WORKFLOWS, r"(?s)\A(?=.*^\s*schedule:)(?=.*drift)"),),
)


@dataclass(frozen=True)
class ScoreTest:
    """One test of the rubric: its evidence in files (none: only an attestation can show
    it) and what runs it automatically (None: the evidence runs by itself)."""

    id: str
    title: str
    evidence: tuple[Any, ...] = ()
    automated_by: Any = None

    @property
    def section(self) -> str:
        return self.id.split("-")[0]

    @property
    def checkable(self) -> bool:
        return bool(self.evidence)


TESTS: tuple[ScoreTest, ...] = (
    ScoreTest(
        "data-1",
        "Feature expectations are captured in a schema",
        (Clue("a schema of the data", features=("validation",), files=("**/expectations/*",)),),
        RUN_BY_PIPELINE,
    ),
    ScoreTest("data-2", "All features are beneficial"),
    ScoreTest("data-3", "No feature's cost is too much"),
    ScoreTest("data-4", "Features adhere to meta-level requirements"),
    ScoreTest("data-5", "The data pipeline has appropriate privacy controls"),
    ScoreTest("data-6", "New features can be added quickly"),
    ScoreTest(
        "data-7",
        "All input feature code is tested",
        (
            Clue(
                "tests of the data and feature code",
                files=("**/test_data*.py", "**/test_feature*.py", "**/test_prepare*.py"),
            ),
        ),
        RUN_BY_CI_TESTS,
    ),
    ScoreTest(
        "model-1",
        "Model specs are reviewed and submitted",
        (Clue("code owners who review changes", features=("repo_governance",)),),
    ),
    ScoreTest("model-2", "Offline and online metrics correlate"),
    ScoreTest(
        "model-3",
        "All hyperparameters have been tuned",
        (
            Clue(
                "a hyperparameter search",
                dependencies=("optuna", "hyperopt", "scikit-optimize", "ray"),
                text=((PYTHON, r"GridSearchCV|RandomizedSearchCV|optuna\.|hyperopt"),),
            ),
        ),
        RUN_BY_PIPELINE,
    ),
    ScoreTest("model-4", "The impact of model staleness is known"),
    ScoreTest(
        "model-5",
        "A simpler model is not better",
        (
            Clue(
                "a simple baseline the model is compared with",
                text=((PYTHON, r"DummyClassifier|DummyRegressor|baseline"),),
            ),
        ),
        RUN_BY_PIPELINE,
    ),
    ScoreTest(
        "model-6",
        "Model quality is sufficient on all important data slices",
        (Clue("metrics per data slice", text=((PYTHON, r"\bslices?\b|subgroup"),)),),
        RUN_BY_PIPELINE,
    ),
    ScoreTest(
        "model-7",
        "The model has been tested for considerations of inclusion",
        (
            Clue(
                "a fairness assessment",
                dependencies=("fairlearn", "aif360"),
                text=((PYTHON, r"fairlearn|aif360"),),
            ),
        ),
        RUN_BY_PIPELINE,
    ),
    ScoreTest(
        "infra-1",
        "Training is reproducible",
        (
            Clue(
                "a fixed random seed",
                text=((PYTHON, r"random_state|\bseed\b"), ("params.y*ml", r"random_state|seed")),
            ),
            Clue("versioned data and stages", features=("dvc",)),
        ),
        RUN_BY_PIPELINE,
    ),
    ScoreTest(
        "infra-2",
        "Model specification code is unit tested",
        (Clue("tests of the model code", files=("**/test_model*.py", "**/test_train*.py")),),
        RUN_BY_CI_TESTS,
    ),
    ScoreTest(
        "infra-3",
        "The full ML pipeline is integration tested",
        (RUN_BY_PIPELINE,),
    ),
    ScoreTest(
        "infra-4",
        "Model quality is validated before attempting to serve it",
        (Clue("an evaluation gate", features=("pipeline",)),),
        RUN_BY_PIPELINE,
    ),
    ScoreTest("infra-5", "The model allows debugging by observing the step-by-step computation"),
    ScoreTest(
        "infra-6",
        "Models are tested via a canary process before they enter production serving",
        (Clue("a canary or shadow model in the service", features=("challenger_traffic",)),),
    ),
    ScoreTest(
        "infra-7",
        "Models can be quickly and safely rolled back to a previous serving version",
        (
            Clue("registered model versions", features=("registry",)),
            Clue("a promotion job", files=("**/promote.py", "**/rollback.py")),
        ),
        Clue("a workflow promotes a chosen version", text=((WORKFLOWS, r"promote|rollback"),)),
    ),
    ScoreTest(
        "monitor-1",
        "Dependency changes result in notification",
        (
            Clue(
                "dependency update automation",
                files=(".github/dependabot.y*ml", "renovate.json", ".github/renovate.json"),
            ),
        ),
    ),
    ScoreTest(
        "monitor-2",
        "Data invariants hold in training and serving inputs",
        (Clue("data validation", features=("validation",)),),
        RUN_BY_PIPELINE,
    ),
    ScoreTest(
        "monitor-3",
        "Training and serving features compute the same values",
        (Clue("a drift check against the training data", features=("drift",)),),
        SCHEDULED_DRIFT,
    ),
    ScoreTest(
        "monitor-4",
        "Models are not too stale",
        (Clue("scheduled retraining", features=("continuous_training",)),),
    ),
    ScoreTest("monitor-5", "The model is numerically stable"),
    ScoreTest(
        "monitor-6",
        "The model has not experienced a dramatic or slow-leak regression in computing performance",
        (
            Clue(
                "alert rules on latency",
                text=((YAML, r"(?s)^\s*-?\s*alert:.*(latency|duration)"),),
            ),
        ),
    ),
    ScoreTest(
        "monitor-7",
        "The model has not experienced a regression in prediction quality on served data",
        (Clue("a scheduled check of the served data", features=("drift",)),),
        SCHEDULED_DRIFT,
    ),
)
BY_ID = {test.id: test for test in TESTS}
assert len(TESTS) == 28 and all(
    sum(test.section == section for test in TESTS) == 7 for section in SECTIONS
)


# --- Attestations ----------------------------------------------------------------------


@dataclass(frozen=True)
class Attestation:
    test: str
    evidence: str
    date: dt.date


class AttestationError(ValueError):
    """mltestscore.yaml is not usable; the message lists each problem and its fix."""


def read_attestations(root: Path) -> dict[str, Attestation]:
    """The attestations of mltestscore.yaml at the root ({} without the file).

    Raises AttestationError naming every problem, each with its entry and its fix.
    """
    path = root / ATTESTATIONS
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise AttestationError(f"{ATTESTATIONS} is not valid YAML{where}") from None
    example = "attestations: [{test: data-2, evidence: <link>, date: 2026-01-31}]"
    if not isinstance(data, dict) or not isinstance(data.get("attestations"), list):
        raise AttestationError(
            f"{ATTESTATIONS} must hold a list under `attestations:`, e.g. {example}"
        )
    errors, found = [], {}
    for index, entry in enumerate(data["attestations"], start=1):
        where = f"{ATTESTATIONS}, attestation {index}"
        if not isinstance(entry, dict):
            errors.append(f"{where}: must be a mapping with test, evidence and date")
            continue
        unknown = set(entry) - {"test", "evidence", "date", "note"}
        if unknown:
            errors.append(
                f"{where}: unknown key(s) {sorted(unknown)}; use test, evidence, date, note"
            )
        test, evidence, date = entry.get("test"), entry.get("evidence"), entry.get("date")
        if test not in BY_ID:
            close = difflib.get_close_matches(str(test), BY_ID, n=1)
            hint = f"did you mean {close[0]}?" if close else "tests are data-1 ... monitor-7"
            errors.append(f"{where}: test {test!r} is not an ML Test Score test; {hint}")
        elif test in found:
            errors.append(f"{where}: {test} is attested twice; keep one entry per test")
        if not isinstance(evidence, str) or not evidence.strip():
            errors.append(f"{where}: evidence is missing; give a link or a path to the result")
        elif not re.match(r"^https?://\S+$", evidence) and not (root / evidence).exists():
            errors.append(
                f"{where}: evidence {evidence!r} is neither an http(s) link nor a file "
                "of the repository"
            )
        if isinstance(date, str):
            with contextlib.suppress(ValueError):
                date = dt.date.fromisoformat(date)
        if isinstance(date, dt.datetime):
            date = date.date()
        if not isinstance(date, dt.date):
            errors.append(f"{where}: date {date!r} is not a date; write it as YYYY-MM-DD")
        elif date > dt.date.today():
            errors.append(f"{where}: date {date} is in the future")
        if test in BY_ID and test not in found:
            found[test] = Attestation(test, str(evidence), date)  # type: ignore[arg-type]
    if errors:
        raise AttestationError("\n".join(errors))
    return found


# --- Scoring ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TestResult:
    test: ScoreTest
    points: float
    status: str  # automated | attested | found, not automated | not found | attest by hand
    detail: str


def holds(inventory: Inventory, clues: tuple[Any, ...]) -> bool:
    return all(inventory.look(clue) for clue in clues)


def result(inventory: Inventory, test: ScoreTest, attested: Attestation | None) -> TestResult:
    found = test.checkable and holds(inventory, test.evidence)
    automated = found and (test.automated_by is None or holds(inventory, (test.automated_by,)))
    if automated:
        return TestResult(test, 1.0, "automated", "found and run automatically")
    if attested:
        return TestResult(
            test, 0.5, "attested", f"{attested.evidence} ({attested.date.isoformat()})"
        )
    if found:
        return TestResult(
            test, 0.0, "found, not automated", f"needs {test.automated_by.says}, or attest it"
        )
    if test.checkable:
        missing = [clue.says for clue in test.evidence if not inventory.look(clue)]
        return TestResult(test, 0.0, "not found", "needs " + ", ".join(missing))
    return TestResult(
        test, 0.0, "not attested", f"no file can show it: attest it in {ATTESTATIONS}"
    )


def band(final: float) -> str:
    for bound, meaning in BANDS:
        if final > bound:
            return meaning
    return NO_POINTS_BAND


def score(inventory: Inventory, attestations: dict[str, Attestation]) -> dict[str, Any]:
    results = [result(inventory, test, attestations.get(test.id)) for test in TESTS]
    sections = {
        section: sum(r.points for r in results if r.test.section == section) for section in SECTIONS
    }
    final = min(sections.values())
    return {"results": results, "sections": sections, "final": final, "band": band(final)}
