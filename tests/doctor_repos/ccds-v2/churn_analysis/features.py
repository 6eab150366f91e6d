"""Features of each customer, from the processed dataset."""

from pathlib import Path

from loguru import logger
import typer

from churn_analysis.config import PROCESSED_DATA_DIR

app = typer.Typer()


@app.command()
def main(
    input_path: Path = PROCESSED_DATA_DIR / "dataset.csv",
    output_path: Path = PROCESSED_DATA_DIR / "features.csv",
):
    logger.info(f"Writing features of {input_path} to {output_path}")
    output_path.write_text(input_path.read_text())


if __name__ == "__main__":
    app()
