"""Checks of the drift check and of continuous training."""

from __future__ import annotations

import hashlib
import json
import subprocess

import yaml

from tests.generated.base import (
    DRIFT_RUN,
    VERSION_TAGS,
    once_per_level,
    registered,
    step_script,
)

# The number of versions the registry holds.
VERSIONS = """
import json, mlflow
from {package}.config import MODEL_NAME
mlflow.set_tracking_uri("sqlite:///mlflow.db")
print(json.dumps(len(mlflow.MlflowClient().search_model_versions(f"name = '{{MODEL_NAME}}'"))))
"""


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

    def test_a_failing_retrain_fails_its_step(self, project, tmp_path):
        """The step pipes the job's output into tee: with pipefail, the job's failure is the
        step's, and the report-failure job runs."""
        workflow = project.path / ".github" / "workflows" / "retrain.yml"
        train = step_script(workflow, "retrain", "Train a challenger")
        if self.variant.has.kubeflow:
            failing = {"KFP_HOST": ""}  # kfp-run refuses to start without a cluster
            expected = "KFP_HOST is not set"
        else:
            failing = {"DATA_SOURCE": str(tmp_path / "missing.csv")}
            expected = f"error: DATA_SOURCE={tmp_path / 'missing.csv'} could not be read"
        result = subprocess.run(
            train,
            cwd=project.path,
            env={**project.env(), **failing, "RUNNER_TEMP": str(tmp_path)},
            capture_output=True,
            text=True,
        )
        assert result.returncode != 0 and expected in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
        assert (tmp_path / "retrain.log").exists()

    @once_per_level
    def test_a_failure_opens_one_issue_that_says_what_the_registry_holds(self, project, tmp_path):
        workflow = project.path / ".github" / "workflows" / "retrain.yml"
        log = tmp_path / "retrain.log"
        log.write_text("Registered version 7 of m as challenger: it does not beat version 6\n")
        output, summary = tmp_path / "github_output", tmp_path / "summary.md"
        runner = {
            "RUNNER_TEMP": str(tmp_path),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
        }
        outcome = step_script(workflow, "retrain", "Say what came of it")
        project.run(*outcome, env=runner)
        registry = output.read_text().removeprefix("registry=").strip()
        assert registry == "Registered version 7 of m as challenger: it does not beat version 6"
        assert registry in summary.read_text()
        log.write_text("error: DATA_SOURCE=x could not be read\n")
        project.run(*outcome, env=runner)
        assert output.read_text().splitlines()[-1] == (
            "registry=No version was registered: the registry and its champion are as they were."
        )
        # `gh` as a fake that logs its arguments and knows of one open issue, or none.
        fake = tmp_path / "bin"
        fake.mkdir()
        (fake / "gh").write_text(
            '#!/bin/sh\nprintf \'%s|\' "$@" >> "$GH_CALLS"; echo >> "$GH_CALLS"\n'
            'if [ "$1 $2" = "issue list" ]; then printf \'%s\' "$OPEN_ISSUE"; fi\n'
        )
        (fake / "gh").chmod(0o755)
        report = step_script(workflow, "report-failure", "Report the failure")
        calls = tmp_path / "calls"
        for open_issue in ("", "12"):
            project.run(
                *report,
                env={
                    "PATH": f"{fake}:{project.env()['PATH']}",
                    "GH_CALLS": str(calls),
                    "OPEN_ISSUE": open_issue,
                    "GITHUB_REPOSITORY": "team/project",
                    "RUN_URL": "https://github.com/team/project/actions/runs/1",
                    "REGISTRY": registry,
                },
            )
        listed, created, _, commented = calls.read_text().splitlines()
        assert listed.startswith("issue|list|") and "--state|open|" in listed
        assert created.startswith("issue|create|") and "--title|Retraining failed|" in created
        assert commented.startswith("issue|comment|12|")
        assert created.count(registry) == commented.count(registry) == 1
        assert "actions/runs/1" in commented

    @once_per_level
    def test_new_labelled_data_is_validated_and_trained_on_and_unchanged_data_is_not(
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
        # New labelled data: 400 of the rows, at DATA_SOURCE.
        rows = (project.path / "data" / "raw" / "data.csv").read_text().splitlines()
        labelled = tmp_path / "labelled.csv"
        labelled.write_text("\n".join(rows[:401]) + "\n")
        source = {"DATA_SOURCE": str(labelled)}
        retrained = project.run("make", "retrain", env=source)
        for stage in ("validate", "prepare", "train", "evaluate", "register"):
            assert f"Running stage '{stage}'" in retrained, stage
        assert "Validated 400 rows" in retrained
        prepared = project.path / "data" / "prepared"
        split = [
            len((prepared / f"{name}.csv").read_text().splitlines()) - 1
            for name in ("train", "test")
        ]
        assert sum(split) == 400
        version = registered(retrained)[0]
        register = json.loads((project.path / "outputs" / "register.json").read_text())
        assert register["version"] == version and register["reason"]
        snapshot = (project.path / "data" / "raw" / "data.csv").read_bytes()
        assert len(snapshot.splitlines()) == 401
        data_md5 = hashlib.md5(snapshot).hexdigest()
        assert f"md5: {data_md5}" in (project.path / "data" / "raw" / "data.csv.dvc").read_text()
        tags = project.python(VERSION_TAGS.format(package=project.package), version)
        assert tags["lineage.data_md5"] == data_md5 and tags["lineage.data_versioned"] == "true"
        events = [
            json.loads(line)["event"]
            for line in (project.path / "audit" / "trail.jsonl").read_text().splitlines()
        ]
        assert events[-1] == "register" and "drift" in events
        # The same data, code and params again: one line, and no new version.
        again = project.run("make", "retrain", env=source)
        (nothing,) = [line for line in again.splitlines() if "Nothing new" in line]
        assert nothing == (
            f"Nothing new to train on: data md5 {data_md5}, code and params as in dvc.lock."
        )
        assert "Running stage" not in again and "Registered version" not in again
        assert project.python(VERSIONS.format(package=project.package)) == int(version)
