"""The MLflow model registry: versions, aliases and the URI to load one."""

import mlflow


def model_uri(alias: str, name: str = "bikes") -> str:
    return f"models:/{name}@{alias}"


def register(run_id: str, name: str = "bikes") -> str:
    version = mlflow.register_model(f"runs:/{run_id}/model", name)
    return version.version


def promote_latest(name: str, alias: str) -> str:
    client = mlflow.MlflowClient()
    (latest,) = client.search_model_versions(f"name = '{name}'", max_results=1)
    client.set_registered_model_alias(name, alias, latest.version)
    return latest.version
