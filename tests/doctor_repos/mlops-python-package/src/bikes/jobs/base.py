"""What every job shares: an MLflow service started on entry, stopped on exit."""

import abc

import pydantic

from bikes.io.services import MlflowService


class Job(pydantic.BaseModel, abc.ABC):
    mlflow_service: MlflowService = MlflowService()

    def __enter__(self) -> "Job":
        self.mlflow_service.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.mlflow_service.stop()

    @abc.abstractmethod
    def run(self) -> None:
        """Do the job."""
