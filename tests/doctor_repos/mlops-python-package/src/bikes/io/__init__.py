"""Reading data, the model registry and the MLflow service."""
