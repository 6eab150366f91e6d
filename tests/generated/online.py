"""Checks of the online service."""

from __future__ import annotations

import json
from pathlib import Path

from harness.project import (
    get_json,
    post_json,
)
from tests.generated.base import SET_ALIAS, registered

# A model.py a team might write instead of the example's: a derived column, columns
# picked by name, and a tree ensemble (no scaler the fast path knows).
OTHER_MODEL = '''"""Our model: a derived ratio and gradient-boosted trees."""

from typing import Any

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer


def add_features(features: pd.DataFrame) -> pd.DataFrame:
    return features.assign(radius_to_texture=features["mean_radius"] / features["mean_texture"])


def build_model(params: dict[str, Any]) -> Pipeline:
    keep = ["radius_to_texture", "worst_radius", "worst_concave_points", "mean_texture"]
    return Pipeline(
        [
            ("features", FunctionTransformer(add_features)),
            ("columns", ColumnTransformer([("keep", "passthrough", keep)])),
            ("classifier", HistGradientBoostingClassifier(max_iter=50, random_state=0)),
        ]
    )
'''


# Writes 100 rows as a request body and what mlflow.pyfunc predicts for them.
PYFUNC_ANSWER = """
import json, mlflow
from {package}.config import MODEL_NAME
from {package}.data import TARGET, load_dataset
mlflow.set_tracking_uri("sqlite:///mlflow.db")
rows = load_dataset().drop(columns=[TARGET]).sample(100, random_state=1)
model = mlflow.pyfunc.load_model(f"models:/{{MODEL_NAME}}@champion")
print(json.dumps({{
    "request": {{"instances": rows.to_dict(orient="records")}},
    "predictions": model.predict(rows).tolist(),
}}))
"""


class OnlineChecks:
    """The FastAPI service started with `make serve`."""

    def test_make_serve_answers_on_the_configured_port(self, project, champion):
        with project.serving() as url:
            assert get_json(f"{url}/health") == (200, {"status": "ok"})
            status, ready = get_json(f"{url}/ready")
            assert status == 200 and ready["model_version"] == champion
            example = (project.path / "examples" / "request.json").read_bytes()
            status, answer = post_json(f"{url}/predict", example)
            assert status == 200 and answer["predictions"] in ([0], [1])
            status, refused = post_json(f"{url}/predict", b'{"instances": [{"mean_radius": "x"}]}')
            assert status == 422 and "mean_radius" in json.dumps(refused)
            assert get_json(f"{url}/health")[0] == 200, "a refused request leaves the service up"

    def test_the_service_serves_whatever_model_the_team_builds(self, project, tmp_path: Path):
        workspace = project.workspace(tmp_path)
        (workspace.copy_source() / "model.py").write_text(OTHER_MODEL)
        version, role = registered(workspace.job("pipeline"))
        if role == "challenger":  # from level 3 a person approves it: as `make promote` does
            workspace.python("-c", SET_ALIAS.format(package=project.package), "champion", version)
        expected = json.loads(
            workspace.python("-c", PYFUNC_ANSWER.format(package=project.package)).splitlines()[-1]
        )
        with workspace.serving() as url:
            status, answer = post_json(f"{url}/predict", json.dumps(expected["request"]).encode())
        assert status == 200
        assert answer["predictions"] == expected["predictions"]
        assert set(expected["predictions"]) == {0, 1}
