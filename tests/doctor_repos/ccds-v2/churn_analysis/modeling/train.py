"""Train the churn model on the features."""

from pathlib import Path

from loguru import logger
import typer

from churn_analysis.config import MODELS_DIR, PROCESSED_DATA_DIR

app = typer.Typer()


@app.command()
def main(
    features_path: Path = PROCESSED_DATA_DIR / "features.csv",
    model_path: Path = MODELS_DIR / "model.pkl",
):
    logger.info(f"Training on {features_path}; the model goes to {model_path}")


if __name__ == "__main__":
    app()
