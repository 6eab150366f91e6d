"""Predict with the registered champion and write the predictions."""

from typing import Literal

import mlflow
import pandas as pd

from bikes.io.datasets import ParquetReader
from bikes.io.registries import model_uri
from bikes.jobs.base import Job


class InferenceJob(Job):
    KIND: Literal["InferenceJob"] = "InferenceJob"
    inputs: ParquetReader
    outputs: str
    alias: str = "Champion"

    def run(self) -> None:
        model = mlflow.pyfunc.load_model(model_uri(self.alias))
        inputs = self.inputs.read()
        pd.DataFrame({"prediction": model.predict(inputs)}, index=inputs.index).to_parquet(
            self.outputs
        )
