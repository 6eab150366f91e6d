"""The MLflow service a job talks to."""

import mlflow
import pydantic


class MlflowService(pydantic.BaseModel):
    tracking_uri: str = "sqlite:///mlflow.db"
    experiment_name: str = "bikes"

    def start(self) -> None:
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_experiment(self.experiment_name)

    def stop(self) -> None:
        mlflow.end_run()
