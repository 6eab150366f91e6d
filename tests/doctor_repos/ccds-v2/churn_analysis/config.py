"""Where the data, the models and the reports live."""

from pathlib import Path

PROJ_ROOT = Path(__file__).resolve().parents[1]
RAW_DATA_DIR = PROJ_ROOT / "data" / "raw"
PROCESSED_DATA_DIR = PROJ_ROOT / "data" / "processed"
MODELS_DIR = PROJ_ROOT / "models"
FIGURES_DIR = PROJ_ROOT / "reports" / "figures"
