import pandas as pd
import pytest


@pytest.fixture
def inputs() -> pd.DataFrame:
    return pd.DataFrame(
        {"season": [1, 2, 3, 4] * 5, "weathersit": [1, 2] * 10, "temp": [0.5] * 20, "hum": [0.4] * 20}
    )


@pytest.fixture
def targets() -> pd.DataFrame:
    return pd.DataFrame({"cnt": list(range(20))})
