"""The metric names of a generated project's monitoring, and those its metrics contract allows.

alerts.yml and dashboard.json query metrics that other parts of the project produce: the
online service exposes most of them on /metrics, the drift and performance checks push
gauges to a Pushgateway. `metric_names` reads the names the queries use, as Prometheus
stores them (a counter with its `_total`, a histogram's `_bucket`), so that a check can
compare them with this contract or with the sample names of a live /metrics scrape.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

# The level-4 metrics, without the `<package_name>_` prefix, and their types.
CONTRACT: dict[str, str] = {
    "http_requests_total": "counter",
    "http_request_duration_seconds": "histogram",
    "request_errors_total": "counter",
    "predictions_total": "counter",
    "prediction_score": "histogram",
    "rows_scored_total": "counter",
    "model_info": "gauge",
    "model_ready": "gauge",
    "drift_share": "gauge",
    "drift_detected": "gauge",
    "drift_last_run_timestamp_seconds": "gauge",
    "performance_live": "gauge",
    "performance_drop": "gauge",
    "performance_dropped": "gauge",
}
# Pushed by the drift check to the Pushgateway: not on the service's /metrics.
PUSHED = ("drift_share", "drift_detected", "drift_last_run_timestamp_seconds")
# Pushed by the performance check of an online project when labels arrive.
PERFORMANCE = ("performance_live", "performance_drop", "performance_dropped")
HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")
KUBE_STATE_METRICS = "kube_"

# PromQL words that look like metric names but are not.
KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
MATCHERS = re.compile(r"\{[^}]*\}")
RANGES = re.compile(r"\[[^\]]*\]")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
IDENTIFIER = re.compile(r"(?<![\w$.:])([a-zA-Z_:][\w:]*)(\s*\()?")


def contract_names(package: str, names: tuple[str, ...] | None = None) -> set[str]:
    """The sample names of the contract's metrics (or of `names` among them)."""
    samples = set()
    for name in names or tuple(CONTRACT):
        if CONTRACT[name] == "histogram":
            samples |= {f"{package}_{name}{suffix}" for suffix in HISTOGRAM_SERIES}
        else:
            samples.add(f"{package}_{name}")
    return samples


def pushed_names(package: str) -> set[str]:
    """The sample names the drift and performance checks push, not the service's."""
    return contract_names(package, PUSHED + PERFORMANCE)


def names_in(promql: str) -> set[str]:
    """The metric names a PromQL expression selects.

    Label matchers, range durations, grouping clauses and quoted strings are removed
    first; what remains is a metric name unless it is a keyword or a function call.
    """
    text = GROUPING.sub("", RANGES.sub("", MATCHERS.sub("", QUOTED.sub('""', promql))))
    return {
        match.group(1)
        for match in IDENTIFIER.finditer(text)
        if not match.group(2) and match.group(1) not in KEYWORDS
    }


def alert_expressions(project_path: Path) -> list[str]:
    rules = yaml.safe_load((project_path / "monitoring/prometheus/alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def dashboard_expressions(project_path: Path) -> list[str]:
    dashboard = json.loads((project_path / "monitoring/grafana/dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def metric_names(project_path: Path) -> set[str]:
    """Every metric name that the alert rules and the dashboard's queries use."""
    expressions = alert_expressions(project_path) + dashboard_expressions(project_path)
    # Names with a colon are the rules' own recordings (level:metric:operations); kube_*
    # are kube-state-metrics' series of the cluster's jobs, not the project's.
    return {
        name
        for name in set().union(*map(names_in, expressions))
        if ":" not in name and not name.startswith(KUBE_STATE_METRICS)
    }
