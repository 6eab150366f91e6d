"""Checks of the pipeline feature: stages that hand over through files, and the gate."""

from __future__ import annotations

import json

from tests.generated.base import TRAINED, once_per_level, strict_params


class PipelineChecks:
    """The prepare, train and evaluate stages, each alone in its own process."""

    @once_per_level
    def test_stages_hand_over_through_files_and_the_gate_decides(self, project, tmp_path):
        workspace = project.workspace(tmp_path / "work")
        outputs = workspace.path / "outputs"
        assert "data/prepared/train.csv" in workspace.job("prepare")
        run_id = TRAINED.search(workspace.job("train")).group(1)
        assert json.loads((outputs / "train.json").read_text())["run_id"] == run_id
        assert "Gate passed: accuracy" in workspace.job("evaluate")
        evaluation = json.loads((outputs / "evaluate.json").read_text())
        assert evaluation["run_id"] == run_id and evaluation["passed"] is True

        missing = workspace.job("evaluate", "--run-id", "nosuchrun", check=False)
        assert "error: No run 'nosuchrun'" in missing and "Traceback" not in missing

        refused = workspace.job("evaluate", params=strict_params(project, tmp_path), check=False)
        assert "failed the evaluation gate: roc_auc = 0." in refused
        assert "is below the threshold 0.9999" in refused and "Traceback" not in refused
        assert json.loads((outputs / "evaluate.json").read_text())["passed"] is False
