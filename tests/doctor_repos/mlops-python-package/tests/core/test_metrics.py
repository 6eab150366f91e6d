from bikes.core.metrics import score
from bikes.core.models import build_model


def test_scores_are_errors(inputs, targets):
    model = build_model(max_depth=2).fit(inputs, targets["cnt"])
    scores = score(model, inputs, targets["cnt"])
    assert scores["mae"] >= 0 and scores["rmse"] >= scores["mae"]
