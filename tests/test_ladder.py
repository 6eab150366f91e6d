"""The level features and the recommendation table, case by case."""

from __future__ import annotations

import pytest

from extensions.ladder import (
    AVAILABLE_LEVELS,
    LEVELS,
    NO_ASSESSMENT_REASON,
    RULES,
    default_python,
    features_for,
    package_name_error,
    recommend,
)

RECOMMENDATIONS = [
    # team, stage, cadence, compliance -> level
    (("solo", "research", "rarely", False), 1),
    (("solo", "research", "monthly", False), 1),
    (("small", "research", "rarely", False), 2),
    (("large", "research", "monthly", False), 2),
    (("solo", "research", "weekly", False), 2),
    (("solo", "research", "daily", False), 2),
    (("solo", "mvp", "rarely", False), 2),
    (("small", "mvp", "weekly", False), 2),
    (("solo", "research", "rarely", True), 3),
    (("small", "mvp", "monthly", True), 3),
    (("small", "production", "monthly", False), 3),
    (("large", "production", "weekly", False), 3),
    (("small", "production", "weekly", True), 3),
    (("small", "production", "daily", False), 4),
    (("large", "production", "daily", True), 4),
    (("solo", "scaled", "rarely", False), 4),
    (("large", "scaled", "daily", True), 4),
]


@pytest.mark.parametrize(("answers", "level"), RECOMMENDATIONS, ids=lambda v: str(v))
def test_recommendation(answers, level):
    recommended, reason = recommend(*answers)
    assert recommended == level
    assert reason and reason[0].islower() and not reason.endswith(".")


def test_every_rule_is_reachable():
    reasons = {recommend(*answers)[1] for answers, _ in RECOMMENDATIONS}
    assert reasons == {reason for _, _, reason in RULES}


def test_last_rule_matches_everything():
    conditions, level, _ = RULES[-1]
    assert conditions == {} and level == min(LEVELS)
    assert NO_ASSESSMENT_REASON


def test_compliance_accepts_yaml_style_strings():
    assert recommend("solo", "research", "rarely", "yes")[0] == 3
    assert recommend("solo", "research", "rarely", "false")[0] == 1


def test_features_are_cumulative():
    for lower, higher in zip(sorted(LEVELS), sorted(LEVELS)[1:], strict=False):
        low, high = features_for(lower, "online"), features_for(higher, "online")
        for name, enabled in low.as_dict().items():
            if enabled is True:
                assert getattr(high, name) is True, f"level {higher} lost {name}"


def test_level_one_has_no_automation_whatever_serving_says():
    features = features_for(1, serving="online")
    assert not (features.online or features.registry or features.pipeline or features.ci)


def test_online_serving_is_a_choice_from_level_two():
    assert features_for(2, "online").online and not features_for(2, "batch").online


def test_next_level_points_only_at_built_levels():
    for level in AVAILABLE_LEVELS:
        nxt = features_for(level).next_level
        assert nxt is None or nxt in AVAILABLE_LEVELS


def test_unknown_level_is_an_error():
    with pytest.raises(ValueError, match="mlops_level"):
        features_for(5)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("churn_model", ""),
        ("model2", ""),
        ("", "empty"),
        ("Model", "not a Python import name"),
        ("my-model", "not a Python import name"),
        ("_private", "not a Python import name"),
        ("import", "keyword"),
        ("case", "keyword"),
        ("os", "shadow"),
        ("sklearn", "shadow"),
    ],
)
def test_package_name_error(name, problem):
    message = package_name_error(name)
    assert (problem in message) if problem else message == ""


def test_default_python_is_supported():
    assert default_python() in {"3.10", "3.11", "3.12", "3.13"}
