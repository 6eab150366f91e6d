"""Baseline of `make train`: the same job, written directly as one script.

It reads the same data and settings, fits the same estimator, and logs what the
project's training run logs: the parameters, the five metrics, the confusion matrix
and ROC curve, and the model with its signature, input example and the requirements
named up front, serialized with cloudpickle as the project's is (MLflow's default,
skops, takes longer and names one more requirement). Run it with a
project's interpreter from an empty directory: it creates ./mlflow.db.
"""

import re
from importlib.metadata import version

import matplotlib.pyplot as plt
import mlflow
from mlflow.models import infer_signature
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    RocCurveDisplay,
    accuracy_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

PARAMS = {"data.test_size": 0.2, "data.random_state": 42, "model.C": 1.0, "model.max_iter": 1000}
PACKAGES = ("scikit-learn", "pandas", "numpy", "cloudpickle")
REQUIREMENTS = [f"{name}=={version(name)}" for name in PACKAGES]

frame = load_breast_cancer(as_frame=True).frame
frame.columns = [re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower() for name in frame]
train, test = train_test_split(frame, test_size=0.2, random_state=42, stratify=frame["target"])
x_train, y_train = train.drop(columns="target"), train["target"]
x_test, y_test = test.drop(columns="target"), test["target"]

mlflow.set_tracking_uri("sqlite:///mlflow.db")
mlflow.set_experiment("bare")
with mlflow.start_run(run_name="train"):
    mlflow.log_params(PARAMS)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    model.fit(x_train, y_train)
    predicted, scores = model.predict(x_test), model.predict_proba(x_test)[:, 1]
    mlflow.log_metrics(
        {
            "accuracy": accuracy_score(y_test, predicted),
            "precision": precision_score(y_test, predicted),
            "recall": recall_score(y_test, predicted),
            "f1": f1_score(y_test, predicted),
            "roc_auc": roc_auc_score(y_test, scores),
        }
    )
    mlflow.log_figure(
        ConfusionMatrixDisplay.from_estimator(model, x_test, y_test).figure_,
        "plots/confusion_matrix.png",
    )
    mlflow.log_figure(
        RocCurveDisplay.from_estimator(model, x_test, y_test).figure_, "plots/roc_curve.png"
    )
    plt.close("all")
    example = x_train.head(5)
    mlflow.sklearn.log_model(
        model,
        name="model",
        signature=infer_signature(example, model.predict(example)),
        input_example=example,
        pip_requirements=REQUIREMENTS,
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
    )
