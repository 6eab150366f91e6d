"""Figures for the reports."""

from pathlib import Path

from loguru import logger
import typer

from churn_analysis.config import FIGURES_DIR, PROCESSED_DATA_DIR

app = typer.Typer()


@app.command()
def main(
    input_path: Path = PROCESSED_DATA_DIR / "dataset.csv",
    output_path: Path = FIGURES_DIR / "churn_by_tenure.png",
):
    logger.info(f"Plotting {input_path} to {output_path}")


if __name__ == "__main__":
    app()
