"""How good a model is: errors on held-out data."""

from sklearn.metrics import mean_absolute_error, mean_squared_error


def score(model, inputs, targets) -> dict[str, float]:
    predicted = model.predict(inputs)
    return {
        "mae": mean_absolute_error(targets, predicted),
        "rmse": mean_squared_error(targets, predicted) ** 0.5,
    }
