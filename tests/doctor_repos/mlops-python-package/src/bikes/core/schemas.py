"""What the inputs and the targets must look like (pandera)."""

import pandera.pandas as pa

InputsSchema = pa.DataFrameSchema(
    {
        "season": pa.Column(int, pa.Check.isin([1, 2, 3, 4])),
        "weathersit": pa.Column(int, pa.Check.in_range(1, 4)),
        "temp": pa.Column(float, pa.Check.in_range(0, 1)),
        "hum": pa.Column(float, pa.Check.in_range(0, 1)),
    }
)
TargetsSchema = pa.DataFrameSchema({"cnt": pa.Column(int, pa.Check.ge(0))})
