"""The feature table, the flags, this release's facts and the recommendation, case by case."""

from __future__ import annotations

import pytest

from extensions import ladder
from extensions.ladder import (
    BUILT_LEVELS,
    CHOICE_FEATURES,
    COMBINED_FEATURES,
    FEATURES,
    LEVEL_FEATURES,
    LEVELS,
    NO_ASSESSMENT_REASON,
    RULES,
    SUPPORTED_PYTHONS,
    FeatureTableError,
    UnknownFeatureError,
    asked,
    check_feature_table,
    choices,
    default,
    default_python,
    next_level,
    package_name_error,
    project_has,
    questions,
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


def assessment(team, stage, cadence, compliance) -> dict:
    return {
        "team_size": team,
        "project_stage": stage,
        "release_cadence": cadence,
        "compliance": compliance,
    }


@pytest.mark.parametrize(("answers", "level"), RECOMMENDATIONS, ids=lambda v: str(v))
def test_recommendation(answers, level):
    recommended, reason = recommend(assessment(*answers))
    assert recommended == level
    assert reason and reason[0].islower() and not reason.endswith(".")


def test_every_rule_is_reachable():
    reasons = {recommend(assessment(*answers))[1] for answers, _ in RECOMMENDATIONS}
    assert reasons == {reason for _, _, reason in RULES}


def test_last_rule_matches_everything():
    conditions, level, _ = RULES[-1]
    assert conditions == {} and level == min(LEVELS)


def test_skipped_assessment_recommends_level_one():
    assert recommend({"assess_maturity": False, "project_stage": "scaled"}) == (
        1,
        NO_ASSESSMENT_REASON,
    )


def test_missing_answers_take_their_copier_yml_defaults():
    assert recommend({}) == recommend(assessment("solo", "research", "rarely", False))
    assert default("team_size") == "solo" and default("serving") == "batch"
    assert default("mlops_level") is None, "a computed default is not a value"


def test_compliance_accepts_yaml_style_strings():
    assert recommend(assessment("solo", "research", "rarely", "yes"))[0] == 3
    assert recommend(assessment("solo", "research", "rarely", "false"))[0] == 1


# --- The feature table and the flags ---------------------------------------------------


def flags(level: int, **answers) -> set[str]:
    return set(project_has({"mlops_level": level, **answers}))


def test_the_feature_table_checks_out():
    check_feature_table()
    assert set(FEATURES) == {
        name for names in [*LEVEL_FEATURES.values(), *CHOICE_FEATURES.values()] for name in names
    } | set(COMBINED_FEATURES)


def test_a_combined_feature_comes_with_all_of_its_parts():
    for name, parts in COMBINED_FEATURES.items():
        for level in LEVELS:
            for serving in choices("serving"):
                has = flags(level, serving=serving)
                assert (name in has) == (set(parts) <= has), (name, level, serving)


def test_features_are_cumulative():
    for lower, higher in zip(sorted(LEVELS), sorted(LEVELS)[1:], strict=False):
        assert flags(lower, serving="online") <= flags(higher, serving="online")


def test_every_project_has_what_its_features_require():
    for level in LEVELS:
        for serving in choices("serving"):
            has = flags(level, serving=serving)
            for name in has:
                assert set(FEATURES[name].requires) <= has, (level, serving, name)


def test_an_answer_counts_only_where_its_question_is_asked():
    assert flags(1, serving="online") == set()
    assert "online" in flags(2, serving="online") and "online" not in flags(2, serving="batch")
    assert not asked("serving", {"mlops_level": 1}) and asked("serving", {"mlops_level": 2})


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            {"LEVEL_FEATURES": {**LEVEL_FEATURES, 1: ("registry",), 2: ("pipeline", "ci")}},
            "does not always have",
        ),
        ({"CHOICE_FEATURES": {("serving", "online"): ("online", "ci")}}, "more than one place"),
        (
            {
                "CHOICE_FEATURES": {
                    **{key: names for key, names in CHOICE_FEATURES.items() if key[0] != "serving"},
                    ("serving", "streaming"): ("online",),
                }
            },
            "not a choice",
        ),
        ({"FEATURES": {**FEATURES, "extra": FEATURES["ci"]}}, "nothing adds it"),
    ],
)
def test_a_contradictory_feature_table_is_refused(monkeypatch, change, problem):
    for name, value in change.items():
        monkeypatch.setattr(ladder, name, value)
    with pytest.raises(FeatureTableError, match=problem):
        check_feature_table()


def test_asking_for_an_unknown_feature_is_an_error():
    has = project_has({"mlops_level": 2})
    with pytest.raises(UnknownFeatureError, match="no feature named 'onlin'"):
        _ = has.onlin


def test_next_level_points_only_at_built_levels():
    for level in BUILT_LEVELS:
        nxt = next_level(level)
        assert nxt is None or nxt in BUILT_LEVELS
    assert next_level(max(BUILT_LEVELS)) is None


def test_unknown_level_is_an_error():
    with pytest.raises(ValueError, match="mlops_level"):
        project_has({"mlops_level": 5})


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
        ("a" * 32, ""),
        ("a" * 33, "keep it to 32 or fewer"),
    ],
)
def test_package_name_error(name, problem):
    message = package_name_error(name)
    assert (problem in message) if problem else message == ""


def test_supported_pythons_are_the_python_version_choices():
    assert list(SUPPORTED_PYTHONS) == questions()["python_version"]["choices"]
    assert default_python() in SUPPORTED_PYTHONS
