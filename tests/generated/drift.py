"""Checks of the drift check and of continuous training."""

from __future__ import annotations

import json
import subprocess

import yaml

from tests.generated.base import DRIFT_RUN, once_per_level, registered, step_script


class DriftChecks:
    """`make drift`: exit 0 on the clean batch, Error 3 on the shifted one, 1 on bad input."""

    @once_per_level
    def test_the_shipped_batches_and_a_bad_one(self, project, champion, tmp_path):
        clean = project.run("make", "drift", "CURRENT=data/examples/batch_clean.csv")
        assert "No drift:" in clean
        shifted = project.run(
            "make", "drift", "CURRENT=data/examples/batch_shifted.csv", check=False
        )
        assert "Drift:" in shifted and "Error 3" in shifted
        report = json.loads((project.path / "reports" / "drift.json").read_text())
        assert report["drifted"] is True and len(report["features"]) == 30
        assert (project.path / "reports" / "drift.html").stat().st_size > 100_000
        empty = tmp_path / "empty.csv"
        empty.write_text("")
        refused = project.run("make", "drift", f"CURRENT={empty}", check=False)
        assert "Error 1" in refused and "is empty" in refused and "Traceback" not in refused

    @once_per_level
    def test_the_check_is_logged_to_mlflow(self, project, champion):
        project.run("make", "drift", "CURRENT=data/examples/batch_shifted.csv", check=False)
        logged = project.python(DRIFT_RUN)
        assert logged["drifted"] == 1.0 and {"drift/drift.html", "drift/drift.json"} <= set(
            logged["artifacts"]
        )


class ContinuousTrainingChecks:
    """The retrain and drift-check workflows, and their chain run locally."""

    def test_workflows_are_valid_and_triggered_as_designed(self, project, tmp_path):
        workflows = project.path / ".github" / "workflows"
        retrain = yaml.safe_load((workflows / "retrain.yml").read_text())
        triggers = retrain[True]  # YAML 1.1 reads `on` as True
        assert triggers["schedule"][0]["cron"] and "workflow_dispatch" in triggers
        # An online project's performance check asks for retraining too.
        asked_by = ["drift-detected"] + (
            ["performance-dropped"] if self.variant.has.service_metrics else []
        )
        assert triggers["repository_dispatch"]["types"] == asked_by
        assert (
            retrain["permissions"] == {} and retrain["concurrency"]["cancel-in-progress"] is False
        )
        assert retrain["jobs"]["report-failure"]["permissions"] == {"issues": "write"}
        drift = yaml.safe_load((workflows / "drift.yml").read_text())
        dispatch = " ".join(step.get("run", "") for step in drift["jobs"]["retrain"]["steps"])
        assert "event_type=drift-detected" in dispatch
        retrain_job = "make kfp-run" if self.variant.has.kubeflow else "make retrain"
        assert retrain_job in (workflows / "retrain.yml").read_text()
        # A runner has no batch of its own: without DRIFT_BATCH the check fails and says so.
        output = tmp_path / "github_output"
        check = step_script(workflows / "drift.yml", "check", "Check for drift")
        refused = subprocess.run(
            check,
            cwd=project.path,
            env={**project.env(), "DRIFT_BATCH": "", "GITHUB_OUTPUT": str(output)},
            capture_output=True,
            text=True,
        )
        assert refused.returncode == 1 and not output.exists()
        assert "::error::No batch to check: set the repository variable DRIFT_BATCH" in (
            refused.stdout
        )

    @once_per_level
    def test_a_shifted_batch_leads_to_a_challenger_that_must_beat_the_champion(
        self, project, reproduced, tmp_path
    ):
        project = project.copy(tmp_path / "project")  # it registers a version, may crown it
        # The drift workflow's own step, on the shifted batch: it asks for retraining.
        output = tmp_path / "github_output"
        workflow = project.path / ".github" / "workflows" / "drift.yml"
        check = step_script(workflow, "check", "Check for drift")
        batch = {"DRIFT_BATCH": "data/examples/batch_shifted.csv", "GITHUB_OUTPUT": str(output)}
        project.run(*check, env=batch)
        assert output.read_text() == "drifted=true\n"
        # On Kubeflow the workflow submits the same stages to the cluster (checked with
        # the workflows); here they run on this machine, as on a GitHub runner.
        version, role = registered(project.make("retrain"))
        events = [
            json.loads(line)["event"]
            for line in (project.path / "audit" / "trail.jsonl").read_text().splitlines()
        ]
        assert events[-1] == "register" and "drift" in events
        register = json.loads((project.path / "outputs" / "register.json").read_text())
        assert register["version"] == version and register["promoted"] == (role == "champion")
        assert register["reason"]
