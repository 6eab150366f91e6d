"""Checks of the drift check and of continuous training."""

from __future__ import annotations

import hashlib
import json
import subprocess

import yaml

from harness.actions import make_origin, run_workflow
from harness.github_api import FakeGitHub
from tests.generated.base import (
    ALIASES,
    DRIFT_RUN,
    VERSION_TAGS,
    once_per_level,
    only_where,
    registered,
    step_script,
)
from tests.generated.cd import audit_checked, checkout_beside

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
    @only_where(
        lambda has: has.local_remote and not has.kubeflow,
        "Kubeflow retrains on its cluster; a cloud remote needs its bucket",
    )
    def test_drift_retraining_and_a_release_keep_one_audit_trail(self, project, champion, tmp_path):
        """The drift check, the retraining it asks for (twice: new labelled data, then the
        same data) and a release, one after another, each workflow's jobs in a fresh clone
        as GitHub runs them, all writing the same audit trail: each commits its events,
        and `make audit` on a clone of the origin is green after every one. The new data is
        snapshotted, validated and trained on; the same data again trains nothing."""
        work = project.copy(tmp_path / "team")
        package = project.package
        work.make("push")  # its data to the copy's own remote, next to it
        if work.run("git", "status", "--porcelain").strip():
            work.git_commit_all("Records of the champion")  # the trail goes with the code
        origin = make_origin(work, tmp_path / "origin.git")
        store = f"sqlite:///{work.path / 'mlflow.db'}"
        runner = {
            "secrets": {"MLFLOW_TRACKING_URI": store},
            "stand_ins": {"actions/checkout": checkout_beside(work)},
        }

        def audited(after: str) -> list[dict]:
            """The origin's trail, once `make audit`'s check passed on a clone of it."""
            clone = tmp_path / f"after-{after}"
            origin.clone(clone)
            verified = audit_checked(work, clone, store)
            lines = (clone / "audit" / "trail.jsonl").read_text().splitlines()
            assert verified == len(lines), after
            return [json.loads(line) for line in lines]

        before = len(audited("nothing"))
        with FakeGitHub(origin.repository) as api:
            drift = run_workflow(
                origin,
                ".github/workflows/drift.yml",
                event="schedule",
                jobs=["check", "retrain"],
                tmp=tmp_path / "drift",
                vars={"DRIFT_BATCH": "data/examples/batch_shifted.csv"},
                api=api,
                **runner,
            )
            assert drift["check"].outputs["drifted"] == "true", drift["check"].report()
            drift["retrain"].check()
            assert [item["event_type"] for item in api.dispatches] == ["drift-detected"]
            events = audited("drift")
            assert len(events) == before + 1 and events[-1]["event"] == "drift"
            # New labelled data: 400 of the rows, at DATA_SOURCE.
            rows = (project.path / "data" / "raw" / "data.csv").read_text().splitlines()
            labelled = tmp_path / "labelled.csv"
            labelled.write_text("\n".join(rows[:401]) + "\n")

            def retrain(folder: str):
                return run_workflow(
                    origin,
                    ".github/workflows/retrain.yml",
                    event="repository_dispatch",
                    payload={"action": "drift-detected"},
                    tmp=tmp_path / folder,
                    vars={"DATA_SOURCE": str(labelled)},
                    api=api,
                    **runner,
                )

            trained = retrain("retrain")
            trained["retrain"].check()
            assert trained["report-failure"].result == "skipped"
            log = trained["retrain"].step("Train a challenger").output
            for stage in ("validate", "prepare", "train", "evaluate", "register"):
                assert f"Running stage '{stage}'" in log, stage
            assert "Validated 400 rows" in log
            version = registered(log)[0]
            events = audited("retrain")
            assert "register" in {event["event"] for event in events[before + 1 :]}
            clone = tmp_path / "after-retrain"
            data_md5 = hashlib.md5(labelled.read_bytes()).hexdigest()
            assert f"md5: {data_md5}" in (clone / "data" / "raw" / "data.csv.dvc").read_text()
            tags = work.python(VERSION_TAGS.format(package=package), version)
            assert tags["lineage.data_md5"] == data_md5 and tags["lineage.data_versioned"] == "true"
            # The same data, code and params again: one line, and no new version.
            again = retrain("retrain-again")
            again["retrain"].check()
            log = again["retrain"].step("Train a challenger").output
            (nothing,) = [line for line in log.splitlines() if "Nothing new" in line]
            assert nothing == (
                f"Nothing new to train on: data md5 {data_md5}, code and params as in dvc.lock."
            )
            assert "Running stage" not in log and "Registered version" not in log
            assert work.python(VERSIONS.format(package=package)) == int(version)
            assert len(audited("retrain-again")) == len(events)
            # A release by hand, approved by a second person: back to the champion before,
            # if the policy promoted the new version, or else the challenger it left.
            promoted = work.python(ALIASES.format(package=package))["champion"] == version
            target = champion if promoted else version
            api.add_environment("production", reviewers=["alice", "bob"])
            release = {
                "event": "workflow_dispatch",
                "inputs": {"model_version": target},
                "jobs": ["image", "request", "promote"],  # deploy needs a cluster
                "tmp": tmp_path / "release",
                "api": api,
                "actor": "alice",
                **runner,
            }
            waiting = run_workflow(origin, ".github/workflows/cd.yml", **release)
            assert waiting["promote"].result == "waiting", waiting["request"].report()
            api.approve(waiting.run_id, "bob")
            done = run_workflow(origin, ".github/workflows/cd.yml", resume=waiting, **release)
            done["promote"].check()
        assert work.python(ALIASES.format(package=package))["champion"] == target
        events = audited("release")
        assert events[-1]["event"] == "promote" and events[-1]["version"] == target
        assert (events[-1]["approver"], events[-1]["requester"]) == ("bob", "alice")
