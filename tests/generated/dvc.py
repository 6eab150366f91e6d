"""Checks of the DVC pipeline and its data remotes (a local folder or object storage)."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from harness.actions import make_origin, run_job
from harness.oidc import OidcIssuer
from tests.generated.base import only_where, registered


class DvcChecks:
    """The DVC pipeline: `make repro` runs every stage, then nothing until an input changes."""

    @pytest.fixture(scope="class")
    @classmethod
    def reproduced(cls, project) -> dict[str, str]:
        """`make repro` run once, then again at once: the outputs, the commit it ran on, the
        version it registered."""
        head = project.run("git", "rev-parse", "HEAD").strip()
        output = project.make("repro")
        again = project.make("repro")
        version = registered(output)[0]
        return {"output": output, "again": again, "commit": head, "version": version}

    def test_repro_runs_every_stage_then_nothing(self, project, reproduced):
        stages = yaml.safe_load((project.path / "dvc.yaml").read_text())["stages"]
        for stage in stages:
            assert f"Running stage '{stage}'" in reproduced["output"], stage
        assert (project.path / "data" / "raw" / "data.csv.dvc").is_file()
        assert "Data and pipelines are up to date." in reproduced["again"]
        assert "Running stage" not in reproduced["again"]


class LocalRemoteChecks:
    """The local DVC remote: data pushed from one clone is pulled, byte for byte, into another."""

    def test_push_then_pull_into_a_fresh_clone_restores_the_data(
        self, project, reproduced, tmp_path
    ):
        # On a copy whose work tree holds what the pipeline recorded, whatever other checks
        # wrote to the project since (a `make train` rewrites outputs/train.json, say).
        project = project.copy(tmp_path / "project")
        dvc = str(project.path / ".venv" / "bin" / "dvc")
        project.run(dvc, "checkout", "--force")
        project.make("push")
        project.git_commit_all("Version the data and the pipeline")
        clone = tmp_path / "clone"
        project.run("git", "clone", "--quiet", str(project.path), str(clone))
        pulled = subprocess.run(
            [dvc, "pull"], cwd=clone, env=project.env(), capture_output=True, text=True
        )
        assert pulled.returncode == 0, pulled.stdout + pulled.stderr
        for path in ("data/raw/data.csv", "data/prepared/train.csv", "outputs/train.json"):
            assert (clone / path).read_bytes() == (project.path / path).read_bytes(), path
        status = subprocess.run(
            [dvc, "status"], cwd=clone, env=project.env(), capture_output=True, text=True
        )
        # outputs/register.json is kept out of DVC's cache (the registry is the record, see
        # dvc.yaml): a clone lacks only it, and reruns only the register stage.
        stages = [line for line in status.stdout.splitlines() if not line.startswith("\t")]
        changed = {line.removesuffix(":") for line in stages}
        assert changed == {"register"} and "outputs/register.json" in status.stdout, status


LOGIN = "Log in to AWS with the job's OIDC token"
# The credentials botocore finds from the login's variables (before moto's fake keys),
# then, under moto, the role it assumed with them and a round trip to a bucket.
WEB_IDENTITY = """
import json, boto3
from moto import mock_aws
credentials = boto3.Session().get_credentials()
with mock_aws():
    frozen = credentials.get_frozen_credentials()  # AssumeRoleWithWebIdentity
    keys = {
        "aws_access_key_id": frozen.access_key,
        "aws_secret_access_key": frozen.secret_key,
        "aws_session_token": frozen.token,
        "region_name": "us-east-1",
    }
    caller = boto3.client("sts", **keys).get_caller_identity()
    s3 = boto3.client("s3", **keys)
    s3.create_bucket(Bucket="team-bucket")
    s3.put_object(Bucket="team-bucket", Key="data.csv", Body=b"a,b\\n")
    read = s3.get_object(Bucket="team-bucket", Key="data.csv")["Body"].read().decode()
print(json.dumps({"method": credentials.method, "arn": caller["Arn"], "read": read}))
"""


class CloudRemoteChecks:
    """A cloud DVC remote: configured from DVC_REMOTE_URL, never from a committed URL."""

    def test_make_remote_sets_the_url_outside_git(self, project):
        config = (project.path / ".dvc" / "config").read_text()
        assert "DVC_REMOTE_URL-not-set" in config
        refused = project.run("make", "remote", check=False)
        assert "Set DVC_REMOTE_URL" in refused
        url = (project.path / ".dvc" / "config").read_text().split("url = ")[1].split(":")[0]
        project.make("remote", DVC_REMOTE_URL=f"{url}://team-bucket/data")
        listed = project.run(".venv/bin/dvc", "remote", "list")
        assert f"{url}://team-bucket/data" in listed
        assert "team-bucket" in (project.path / ".dvc" / "config.local").read_text()
        assert "config.local" not in project.run("git", "status", "--porcelain")

    @only_where(
        lambda has: not has.continuous_training,
        "level 3's cloud-remote project runs the same steps",
    )
    def test_ci_pulls_the_data_reruns_the_stages_and_scores_what_it_registered(
        self, project, reproduced, tmp_path
    ):
        """The CI workflow's check job as GitHub runs it (a fresh clone, GitHub's shells and
        `if:`s), the remote's variable set to a folder that stands in for the bucket: it
        pulls the data, reruns every stage into the runner's empty MLflow store and scores
        the example batch with the version it registered; no champion is needed."""
        work = project.copy(tmp_path / "team")
        bucket = tmp_path / "bucket"
        work.run(".venv/bin/dvc", "remote", "modify", "--local", "storage", "url", str(bucket))
        work.run(".venv/bin/dvc", "push")
        work.git_commit_all("The pipeline's records")
        origin = make_origin(work, tmp_path / "origin.git")
        role = "arn:aws:iam::123456789012:role/dvc-ci"
        with OidcIssuer() as issuer:  # the job is allowed `id-token: write`
            job = run_job(
                origin,
                ".github/workflows/ci.yml",
                "check",
                event="push",
                tmp=tmp_path / "runner",
                vars={"DVC_REMOTE_URL": str(bucket), "AWS_ROLE_ARN": role},
                env=issuer.env,
                # `make lint` and `make test` on this very project: ProjectChecks runs
                # them. What this job adds is the remote, in the steps after them.
                checked_elsewhere=dict.fromkeys(
                    ("Lint", "Test"), "test_lint_and_own_tests_pass_in_reverse_order"
                ),
            )
        assert job.ok, job.report()
        assert f"DVC reaches S3 as the role {role}" in job.step(LOGIN).output
        assert issuer.audiences == ["sts.amazonaws.com"]
        # What the later steps got, as botocore reads it: the role, by the job's token.
        (token_file,) = (tmp_path / "runner").rglob("oidc-token-s3")
        identity = work.python(
            WEB_IDENTITY,
            env={
                "AWS_ROLE_ARN": role,
                "AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file),
                "AWS_ROLE_SESSION_NAME": "github-7",
                "AWS_CONFIG_FILE": str(tmp_path / "none"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
            },
        )
        assert identity == {
            "method": "assume-role-with-web-identity",
            "arn": "arn:aws:sts::123456789012:assumed-role/dvc-ci/github-7",
            "read": "a,b\n",
        }
        assert job.step("Run the pipeline on the example data").conclusion == "skipped"
        assert job.step("Fetch the versioned data").conclusion == "success"
        repro = job.step("Reproduce the pipeline with DVC").output
        version, role = registered(repro)
        assert (version, role) == ("1", "challenger"), repro
        scored = job.step("Score the example batch with the model the pipeline made")
        assert re.search(r"Wrote \d+ predictions to ", scored.output), scored.output
