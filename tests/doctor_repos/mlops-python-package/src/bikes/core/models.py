"""The estimator: one-hot encoded calendar features into a random forest."""

from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

CATEGORIES = ["season", "weathersit"]


def build_model(max_depth: int = 20) -> Pipeline:
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), CATEGORIES), remainder="passthrough"
    )
    return make_pipeline(encode, RandomForestRegressor(max_depth=max_depth, random_state=42))
