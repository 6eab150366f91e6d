"""Score customers with the trained model."""

from pathlib import Path

from loguru import logger
import typer

from churn_analysis.config import MODELS_DIR, PROCESSED_DATA_DIR

app = typer.Typer()


@app.command()
def main(
    features_path: Path = PROCESSED_DATA_DIR / "test_features.csv",
    model_path: Path = MODELS_DIR / "model.pkl",
    predictions_path: Path = PROCESSED_DATA_DIR / "test_predictions.csv",
):
    logger.info(f"Scoring {features_path} with {model_path} into {predictions_path}")


if __name__ == "__main__":
    app()
