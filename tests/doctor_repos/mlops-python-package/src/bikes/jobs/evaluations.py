"""Score a registered model on the whole dataset and log the scores."""

from typing import Literal

import mlflow

from bikes.core.metrics import score
from bikes.io.datasets import ParquetReader
from bikes.io.registries import model_uri
from bikes.jobs.base import Job


class EvaluationsJob(Job):
    KIND: Literal["EvaluationsJob"] = "EvaluationsJob"
    inputs: ParquetReader
    targets: ParquetReader
    alias: str = "Champion"

    def run(self) -> None:
        model = mlflow.sklearn.load_model(model_uri(self.alias))
        with mlflow.start_run(run_name="evaluations"):
            mlflow.log_metrics(score(model, self.inputs.read(), self.targets.read()))
