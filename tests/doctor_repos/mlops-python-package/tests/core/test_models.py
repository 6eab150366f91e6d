from bikes.core.models import build_model


def test_the_model_fits_and_predicts(inputs, targets):
    model = build_model(max_depth=2).fit(inputs, targets["cnt"])
    assert len(model.predict(inputs)) == len(inputs)
