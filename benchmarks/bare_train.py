"""Baseline of `make train`: the same estimator and split, tracked with MLflow's defaults.

Run with a project's interpreter from an empty directory: it creates ./mlflow.db.
"""

import re

import mlflow
import mlflow.sklearn
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

frame = load_breast_cancer(as_frame=True).frame
frame.columns = [re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower() for name in frame]
train, test = train_test_split(frame, test_size=0.2, random_state=42, stratify=frame["target"])
features = [name for name in frame if name != "target"]

mlflow.set_tracking_uri("sqlite:///mlflow.db")
with mlflow.start_run():
    mlflow.log_params({"C": 1.0, "max_iter": 1000, "test_size": 0.2})
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    model.fit(train[features], train["target"])
    mlflow.log_metric("accuracy", model.score(test[features], test["target"]))
    mlflow.sklearn.log_model(model, name="model")
