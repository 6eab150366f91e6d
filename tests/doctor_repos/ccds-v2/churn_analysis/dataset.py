"""Turn the raw customer table into the processed dataset."""

from pathlib import Path

from loguru import logger
import typer

from churn_analysis.config import PROCESSED_DATA_DIR, RAW_DATA_DIR

app = typer.Typer()


@app.command()
def main(
    input_path: Path = RAW_DATA_DIR / "customers.csv",
    output_path: Path = PROCESSED_DATA_DIR / "dataset.csv",
):
    logger.info(f"Processing {input_path} into {output_path}")
    output_path.parent.mkdir(parents=True, exist_ok=True)
    output_path.write_text(input_path.read_text())


if __name__ == "__main__":
    app()
