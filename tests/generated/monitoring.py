"""Checks of the Prometheus config, the alert rules and the Grafana dashboard."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.generated.base import (
    PROMETHEUS,
)
from tests.monitoring import CONTRACT, PUSHED, contract_names, metric_names

# Each alert of alerts.yml, after the project's CamelCase name; the service's only online.
SERVICE_ALERTS = {
    "HighErrorRate",
    "HighLatency",
    "NoTraffic",
    "NotReady",
    "ErrorBudgetFastBurn",
    "ErrorBudgetSlowBurn",
}


DRIFT_ALERTS = {"DataDrift", "DriftCheckStale"}
# Online only: the performance check on late labels, which joins the service's log.
PERFORMANCE_ALERTS = {"PerformanceDrop"}
# Batch-only on Kubernetes: the scoring CronJob, through kube-state-metrics.
SCORING_ALERTS = {"ScoringStale", "ScoringSlow"}


def alert_prefix(project_name: str) -> str:
    """ChurnModel from "Churn Model" (or "churn-model"): how alerts.yml names its alerts."""
    return re.sub(r"[^A-Za-z0-9]+", " ", project_name).title().replace(" ", "")


def promtool(*args: str, cwd: Path) -> str:
    """Run promtool (Debian's prometheus package, which .ci/run installs) in `cwd`."""
    if shutil.which("promtool") is None:
        pytest.fail("promtool is not on PATH: apt-get install prometheus (.ci/run does)")
    result = subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def drift_threshold(params: dict) -> float:
    """The share of drifted columns from which the drift check reports drift."""
    threshold = params.get("drift", {}).get("threshold", params.get("drift_threshold"))
    assert threshold is not None, "params.yaml has no drift threshold (drift.threshold)"
    return float(threshold)


class MonitoringChecks:
    """The Prometheus config, the alert rules and their unit tests, the Grafana dashboard."""

    def test_promtool_accepts_the_config_and_the_rules(self, project):
        folder = project.path / PROMETHEUS
        checked = promtool("check", "config", "prometheus.yml", cwd=folder)
        assert "SUCCESS: 1 rule files found" in checked
        promtool("check", "rules", "alerts.yml", cwd=folder)

    def test_every_alert_is_unit_tested_firing_and_silent(self, project):
        folder = project.path / PROMETHEUS
        promtool("test", "rules", "alerts_test.yml", cwd=folder)
        rules = yaml.safe_load((folder / "alerts.yml").read_text())
        alerts = {
            rule["alert"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule
        }
        has = self.variant.has
        online = SERVICE_ALERTS | PERFORMANCE_ALERTS
        expected = DRIFT_ALERTS | (online if has.service_metrics else set())
        expected |= SCORING_ALERTS if has.kubernetes and not has.online else set()
        prefix = alert_prefix(project.answers["project_name"])
        assert alerts == {prefix + alert for alert in expected}
        fired, silent = set(), set()
        for test in yaml.safe_load((folder / "alerts_test.yml").read_text())["tests"]:
            cases: dict[str, list[bool]] = {}
            for case in test.get("alert_rule_test", []):
                cases.setdefault(case["alertname"], []).append(bool(case["exp_alerts"]))
            fired |= {name for name, fires in cases.items() if any(fires)}
            silent |= {name for name, fires in cases.items() if not any(fires)}
        assert fired == alerts, "a test where each alert fires"
        assert silent == alerts, "a test where each alert stays silent throughout"

    def test_every_alert_links_its_runbook_and_groups_by_environment(self, project):
        """runbook_url is a page of docs/runbooks/ with a section for the alert; every rule
        that aggregates keeps the environment label (the others keep every label)."""
        rules = yaml.safe_load((project.path / PROMETHEUS / "alerts.yml").read_text())
        prefix = alert_prefix(project.answers["project_name"])
        for rule in (rule for group in rules["groups"] for rule in group["rules"]):
            for grouping in re.findall(
                r"\b(?:sum|max|min|avg|count)\b\s*(by \([^)]*\))?\s*\(", rule["expr"]
            ):
                assert re.fullmatch(r"by \(environment\b.*", grouping), (rule["expr"], grouping)
            if "alert" not in rule:
                continue
            page, _, anchor = rule["annotations"]["runbook_url"].partition("#")
            assert page.startswith("docs/runbooks/") and anchor, rule["alert"]
            headings = re.findall(r"^## (\w+)$", (project.path / page).read_text(), re.M)
            short = rule["alert"].removeprefix(prefix)
            assert short.lower() == anchor and short in headings, (rule["alert"], headings)
            text = (project.path / page).read_text().split(f"## {short}\n")[1].split("\n## ")[0]
            for part in ("What it means", "How to look", "How to roll back"):
                assert f"**{part}.**" in text, (short, part)

    def test_the_drift_alert_fires_on_the_drift_checks_verdict(self, project):
        """The check reports drift from a share at its threshold; so does the alert."""
        rules = yaml.safe_load((project.path / PROMETHEUS / "alerts.yml").read_text())
        (expr,) = [
            rule["expr"]
            for group in rules["groups"]
            for rule in group["rules"]
            if rule.get("alert", "").endswith("DataDrift")
        ]
        package = project.package
        assert expr.strip() == f"{package}_drift_share and {package}_drift_detected == 1"
        params = yaml.safe_load((project.path / "params.yaml").read_text())
        tests = yaml.safe_load((project.path / PROMETHEUS / "alerts_test.yml").read_text())
        at_threshold = [
            test
            for test in tests["tests"]
            for series in test["input_series"]
            if series["series"].startswith(f"{package}_drift_share{{")
            and float(series["values"].split("x")[0]) == drift_threshold(params)
        ]
        (test,) = at_threshold
        assert any(case["exp_alerts"] for case in test["alert_rule_test"]), test["name"]

    def test_prometheus_scrapes_the_service_and_the_pushgateway(self, project):
        config = yaml.safe_load((project.path / PROMETHEUS / "prometheus.yml").read_text())
        jobs = {job["job_name"]: job for job in config["scrape_configs"]}
        targets = {
            name: [target for static in job["static_configs"] for target in static["targets"]]
            for name, job in jobs.items()
        }
        # The pushed job label (the drift check's) is kept, not renamed to exported_job.
        assert jobs["pushgateway"]["honor_labels"] is True
        assert targets.pop("pushgateway") == ["127.0.0.1:9091"]
        if self.variant.has.service_metrics:
            name = project.package.replace("_", "-")
            assert targets == {name: ["127.0.0.1:8000"]}
            assert jobs[name]["metrics_path"] == "/metrics"
        else:
            assert targets == {}

    def test_the_dashboard_queries_only_the_contracts_metrics(self, project, tmp_path):
        dashboard = json.loads((project.path / "monitoring/grafana/dashboard.json").read_text())
        variables = {item["name"]: item for item in dashboard["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        for panel in dashboard["panels"]:
            if panel["type"] == "row":
                continue
            for source in [panel, *panel["targets"]]:
                assert source["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        used = metric_names(project.path)
        assert used <= contract_names(project.package), used - contract_names(project.package)
        families = PUSHED if not self.variant.has.service_metrics else tuple(CONTRACT)
        for family in families:
            assert used & contract_names(project.package, (family,)), f"{family} is not shown"
        # PromQL syntax, with no server: every query as a recording rule for promtool.
        queries = [
            {"record": f"panel_{panel['id']}_{target['refId']}", "expr": target["expr"]}
            for panel in dashboard["panels"]
            for target in panel.get("targets", [])
        ]
        rules = json.dumps({"groups": [{"name": "dashboard", "rules": queries}]})
        (tmp_path / "queries.yml").write_text(rules.replace("$__rate_interval", "5m"))
        promtool("check", "rules", "queries.yml", cwd=tmp_path)
