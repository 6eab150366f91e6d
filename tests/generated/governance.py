"""Checks of lineage, model cards and the audit trail."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.generated.base import ALIASES, SET_ALIAS, VERSION_TAGS, once_per_level, registered


class LineageChecks:
    """The registered version names the commit and the data it came from."""

    def test_the_version_carries_the_commit_and_the_data_hash(self, project, reproduced):
        tags = project.python(VERSION_TAGS.format(package=project.package), reproduced["version"])
        dvc_file = yaml.safe_load((project.path / "data" / "raw" / "data.csv.dvc").read_text())
        assert tags["lineage.git_commit"] == reproduced["commit"]
        assert tags["lineage.git_dirty"] == "false"
        assert tags["lineage.data_md5"] == dvc_file["outs"][0]["md5"]
        assert tags["lineage.data_versioned"] == "true"


class ModelCardChecks:
    """Every registered version has a card a reviewer can sign, with plausible numbers."""

    def test_a_card_names_the_versions_data_and_metrics(self, project, reproduced):
        name = project.package.replace("_", "-")
        card = project.path / "reports" / "model_cards" / f"{name}-v{reproduced['version']}.md"
        text = card.read_text()
        dvc_file = yaml.safe_load((project.path / "data" / "raw" / "data.csv.dvc").read_text())
        assert dvc_file["outs"][0]["md5"] in text and reproduced["commit"] in text
        assert "| roc_auc |" in text and "## Intended use" in text

    def test_the_card_has_every_section_with_plausible_numbers(self, project, reproduced):
        name = project.package.replace("_", "-")
        folder = project.path / "reports" / "model_cards"
        card = (folder / f"{name}-v{reproduced['version']}.md").read_text()
        governance = yaml.safe_load((project.path / "params.yaml").read_text())["governance"]
        sections = dict(re.findall(r"^## ([^\n]+)\n\n(.*?)(?=^## |\Z)", card, re.M | re.S))
        assert list(sections) == list(CARD_SECTIONS), list(sections)
        assert f"- Owner: {governance['owner']}" in sections["Owner and risk"]
        assert f"- Risk tier: {governance['risk_tier']} (" in sections["Owner and risk"]
        assert sections["Approval"].startswith(("Approval: pending.", "Approved by "))
        assert "### Intended use" in sections["Intended use and limitations"]

        train = (project.path / "data" / "prepared" / "train.csv").read_text().splitlines()
        assert f"training split: {len(train) - 1} rows, " in sections["Training data"]

        intervals = re.findall(
            r"^\| (\w+) \| ([\d.]+) \| \[([\d.]+), ([\d.]+)\] \|",
            sections["Evaluation on the held-out split"],
            re.M,
        )
        assert {"accuracy", "roc_auc", "brier"} <= {metric for metric, *_ in intervals}
        for metric, *numbers in intervals:
            value, low, high = map(float, numbers)
            assert 0 <= low <= value <= high <= 1, (metric, value, low, high)

        brier = float(re.search(r"Brier score: ([\d.]+)", sections["Calibration"]).group(1))
        assert 0 <= brier <= 1
        (plot,) = re.findall(r"!\[[^]]*\]\(([\w.-]+\.png)\)", sections["Calibration"])
        assert (folder / plot).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")

        test_csv = project.path / "data" / "prepared" / "test.csv"
        test_rows = len(test_csv.read_text().splitlines()) - 1
        for column in governance["slices"]:
            table = sections["Metrics by slice"].split(f"### {column}\n", 1)[1].split("###")[0]
            counts = re.findall(r"^\| [^|]+ \| (\d+) \|", table, re.M)
            assert sum(map(int, counts)) == test_rows, table


# The sections of a model card, in order.
CARD_SECTIONS = (
    "Owner and risk",
    "Approval",
    "Intended use and limitations",
    "Training data",
    "Evaluation on the held-out split",
    "Calibration",
    "Metrics by slice",
    "Parameters",
)


TAMPERINGS = {
    "edited": lambda lines: [lines[0], lines[1].replace('"who": "', '"who": "x'), *lines[2:]],
    "removed": lambda lines: [lines[0], *lines[2:]],
    "reordered": lambda lines: [lines[0], lines[2], lines[1], *lines[3:]],
    "truncated": lambda lines: lines[:2],
}


# Makes a version the champion as the CD workflow's promote job leaves it, where the
# promote job's data check cannot run here (a cloud remote this machine cannot reach).
class AuditChecks:
    """`make audit`: 0 for an intact trail; each kind of tampering named, non-zero.
    Registering proposes; only `make promote` makes a champion, on a recorded approval."""

    @pytest.fixture(scope="class")
    @classmethod
    def champion(cls, project, reproduced) -> str:
        """`make repro` registers a challenger and leaves the champion alone; `make push`
        then `make promote VERSION=N` makes it the champion, git's user as approver."""
        version, role = registered(reproduced["output"])
        aliases = project.python(ALIASES.format(package=project.package))
        assert role == "challenger" and "champion" not in aliases, reproduced["output"]
        if cls.variant.has.local_remote:
            project.make("push")
            promoted = project.make("promote", f"VERSION={version}")
            assert f"Version {version} of " in promoted and "approved by " in promoted
            event = json.loads(
                (project.path / "audit" / "trail.jsonl").read_text().splitlines()[-1]
            )
            assert event["event"] == "promote" and event["approver"] == event["requester"]
            assert event["model_digest"].startswith("sha256:") and event["data_md5"]
        else:
            project.python(SET_ALIAS.format(package=project.package), "champion", version)
        return version

    def test_promote_refuses_what_it_cannot_promote_in_one_line(self, project, champion):
        missing = project.run("make", "promote", "VERSION=999", check=False)
        assert "Error 1" in missing and "has no such version" in missing
        assert "Traceback" not in missing
        unnamed = project.run("make", "promote", check=False)
        assert "Name the version to promote" in unnamed and "Traceback" not in unnamed

    @once_per_level
    def test_make_audit_catches_every_kind_of_tampering(self, project, reproduced, tmp_path):
        copy = project.copy(tmp_path / "project")
        assert "the chain holds" in copy.make("audit")
        trail = copy.path / "audit" / "trail.jsonl"
        original = trail.read_text()
        for kind, tamper in TAMPERINGS.items():
            trail.write_text("\n".join(tamper(original.splitlines())) + "\n")
            result = copy.run("make", "audit", check=False)
            assert "Error 1" in result and "Traceback" not in result, kind
            assert re.search(r"audit/trail\.jsonl (ends at )?line \d+", result), (kind, result)

    def test_one_command_answers_where_a_version_came_from(self, project, reproduced):
        answer = project.run(
            ".venv/bin/" + project.package, "audit", "--version", reproduced["version"]
        )
        assert f"version {reproduced['version']}, from run" in answer
        assert f"lineage.git_commit: {reproduced['commit']}" in answer
        assert " register by " in answer


class ObjectLockAnchorChecks:
    """`make audit` with the write-once bucket (audit_anchor=s3-object-lock); the project's
    own tests run the bucket itself in moto's S3 (tests/test_audit_anchor.py)."""

    def test_without_audit_bucket_make_audit_says_the_heads_stay_in_mlflow(
        self, project, reproduced
    ):
        output = project.make("audit")
        assert "the chain holds" in output
        assert "AUDIT_BUCKET is not set, so the audit trail's heads are kept in MLflow" in output

    def test_a_bucket_out_of_reach_is_one_line_naming_it(self, project, reproduced):
        unreachable = {
            "AUDIT_BUCKET": "audit-heads",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # the discard port: nothing listens
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_MAX_ATTEMPTS": "1",
        }
        output = project.run("make", "audit", check=False, env=unreachable)
        assert "Error 1" in output and "Traceback" not in output
        (line,) = [line for line in output.splitlines() if line.startswith("error:")]
        assert "bucket audit-heads (AUDIT_BUCKET)" in line, output
