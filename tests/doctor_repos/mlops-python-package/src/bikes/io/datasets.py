"""Reading the datasets and splitting them in time."""

import pandas as pd
import pydantic


class ParquetReader(pydantic.BaseModel):
    path: str

    def read(self) -> pd.DataFrame:
        return pd.read_parquet(self.path)


def split(index: pd.Index, test_share: float = 0.2) -> tuple[pd.Index, pd.Index]:
    """The first rows to train on, the last ones to test on (time order is kept)."""
    cut = int(len(index) * (1 - test_share))
    return index[:cut], index[cut:]
