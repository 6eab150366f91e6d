"""Baseline of `make drift`: Evidently's drift preset on the same frames, written directly.

    python bare_drift.py data/prepared/train.csv data/examples/batch_shifted.csv

Reads the training features and the batch, runs the same DataDriftPreset over every
numeric column and saves the HTML report: the work of the drift job without its input
checks, MLflow run, audit record and Prometheus export.
"""

import sys
import warnings

import pandas as pd

with warnings.catch_warnings():
    warnings.simplefilter("ignore", SyntaxWarning)
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

reference = pd.read_csv(sys.argv[1]).drop(columns=["target"], errors="ignore")
current = pd.read_csv(sys.argv[2])[list(reference.columns)]
columns = list(reference.columns)
definition = DataDefinition(numerical_columns=columns)
report = Report([DataDriftPreset(columns=columns, drift_share=0.5)], include_tests=True)
snapshot = report.run(
    Dataset.from_pandas(current, data_definition=definition),
    Dataset.from_pandas(reference, data_definition=definition),
)
snapshot.save_html("bare-drift.html")
share = next(
    metric["value"]["share"]
    for metric in snapshot.dict()["metrics"]
    if metric["config"]["type"].endswith(":DriftedColumnsCount")
)
print(f"share of drifted columns: {share:.2f}")
