"""Fit the model on the training split and log it to MLflow."""

from typing import Literal

import mlflow

from bikes.core.metrics import score
from bikes.core.models import build_model
from bikes.io.datasets import ParquetReader, split
from bikes.jobs.base import Job


class TrainingJob(Job):
    KIND: Literal["TrainingJob"] = "TrainingJob"
    inputs: ParquetReader
    targets: ParquetReader
    registered_name: str = "bikes"

    def run(self) -> None:
        inputs, targets = self.inputs.read(), self.targets.read()
        train, test = split(inputs.index)
        with mlflow.start_run(run_name="training"):
            model = build_model().fit(inputs.loc[train], targets.loc[train])
            mlflow.log_metrics(score(model, inputs.loc[test], targets.loc[test]))
            mlflow.sklearn.log_model(model, name="model", registered_model_name=self.registered_name)
