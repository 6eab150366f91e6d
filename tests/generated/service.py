"""Checks of what runs beside the service: its metrics, prediction log and the performance
check on late labels, input sampling, challenger traffic."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml

from harness.project import (
    Project,
    get_text,
    post_json,
)
from tests.generated.base import PROMETHEUS, step_script
from tests.monitoring import metric_names, pushed_names
from tests.prometheus import missing_tools as prometheus_tools_missing
from tests.prometheus import prometheus, pushgateway, wait_for


class ServiceMetricsChecks:
    """GET /metrics of the running service, scraped by a real Prometheus with the
    project's config: every series the rules and the dashboard use, every rule healthy."""

    def test_make_serve_exposes_every_series_monitoring_uses(self, project, champion):
        with project.serving() as url:
            example = (project.path / "examples" / "request.json").read_bytes()
            assert post_json(f"{url}/predict", example)[0] == 200
            text = get_text(f"{url}/metrics")
        exposed = {
            line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1] != "#"
        }
        used = metric_names(project.path) - pushed_names(project.package)
        assert used and used <= exposed, used - exposed

    def test_a_real_prometheus_scrapes_the_service_and_evaluates_every_rule(
        self, project, champion, tmp_path
    ):
        if missing := prometheus_tools_missing():
            pytest.skip(
                f"{', '.join(missing)} is not installed (Debian: apt-get install prometheus "
                "prometheus-pushgateway); .ci/run installs both"
            )
        example = (project.path / "examples" / "request.json").read_bytes()
        config = project.path / PROMETHEUS / "prometheus.yml"
        logged = {"PREDICTION_LOG_RATE": "1", "PREDICTION_LOG_DIR": str(tmp_path / "logged")}
        labels = late_labels(project, logged, tmp_path)
        with project.serving() as url, pushgateway(tmp_path) as gateway:
            for _ in range(20):
                post_json(f"{url}/predict", example)
            post_json(f"{url}/predict", b'{"instances": [{"mean_radius": "x"}]}')
            pushed = project.run(
                "make", "drift", "CURRENT=data/examples/batch_shifted.csv", check=False,
                env={"PUSHGATEWAY_URL": f"http://{gateway}"},
            )  # fmt: skip
            assert "Error 3" in pushed
            pushed = project.run(
                "make", "performance", f"LABELS={labels['flipped']}", check=False,
                env={**logged, "PUSHGATEWAY_URL": f"http://{gateway}"},
            )  # fmt: skip
            assert "Error 3" in pushed
            service = url.removeprefix("http://")
            with prometheus(config, service, gateway, tmp_path) as server:
                wait_for(
                    "every target up",
                    lambda: all(t["health"] == "up" for t in server.targets()),
                )
                prefix = project.package
                wait_for("rates", lambda: server.query(f"rate({prefix}_http_requests_total[1m])"))
                missing = [name for name in metric_names(project.path) if not server.query(name)]
                assert not missing, f"series Prometheus has not seen: {missing}"
                rules = wait_for("every rule evaluated", lambda: evaluated(server.rules()))
                assert all(rule["health"] == "ok" for rule in rules), rules

    def test_late_labels_give_a_performance_report_and_a_drop_asks_for_retraining(
        self, project, champion, tmp_path
    ):
        logged = {"PREDICTION_LOG_RATE": "1", "PREDICTION_LOG_DIR": str(tmp_path / "logged")}
        labels = late_labels(project, logged, tmp_path)
        held = project.run("make", "performance", f"LABELS={labels['right']}", env=logged)
        assert "Performance holds" in held
        report = json.loads((project.path / "reports" / "performance.json").read_text())
        params = yaml.safe_load((project.path / "params.yaml").read_text())
        assert report["version"] == champion and report["dropped"] is False
        assert set(report["metrics"]) == set(params["gate"]["thresholds"])
        assert report["rows"] == len(labels["right"].read_text().splitlines()) - 1
        dropped = project.run(
            "make", "performance", f"LABELS={labels['flipped']}", check=False, env=logged
        )
        assert "Performance dropped" in dropped and "Error 3" in dropped
        gauges = (project.path / "reports" / "performance.prom").read_text()
        assert f'{project.package}_performance_dropped{{metric="roc_auc"}} 1.0' in gauges
        events = (project.path / "audit" / "trail.jsonl").read_text().splitlines()
        assert json.loads(events[-1])["event"] == "performance"
        refused = project.run("make", "performance", "LABELS=no-such.csv", check=False)
        assert "Error 1" in refused and "no-such.csv does not exist" in refused
        assert "Traceback" not in refused

        # The drift workflow's own step, on the flipped labels: it asks for retraining,
        # with an event the retrain workflow listens to.
        workflows = project.path / ".github" / "workflows"
        output = tmp_path / "github_output"
        check = step_script(workflows / "drift.yml", "performance", "Check the live performance")
        variables = {"PERFORMANCE_LABELS": str(labels["flipped"]), "GITHUB_OUTPUT": str(output)}
        project.run(*check, env={**logged, **variables})
        assert output.read_text() == "dropped=true\n"
        drift = yaml.safe_load((workflows / "drift.yml").read_text())
        ask = drift["jobs"]["retrain-on-drop"]
        assert ask["needs"] == "performance" and "dropped == 'true'" in ask["if"]
        assert "event_type=performance-dropped" in ask["steps"][0]["run"]
        retrain = yaml.safe_load((workflows / "retrain.yml").read_text())
        assert "performance-dropped" in retrain[True]["repository_dispatch"]["types"]
        # Without the repository variable the step fails and says so.
        output.unlink()
        refused_step = subprocess.run(
            check,
            cwd=project.path,
            env={**project.env(), "PERFORMANCE_LABELS": "", "GITHUB_OUTPUT": str(output)},
            capture_output=True,
            text=True,
        )
        assert refused_step.returncode == 1 and not output.exists()
        assert (
            "::error::No labels to check: set the repository variable PERFORMANCE_LABELS"
            in refused_step.stdout
        )


def late_labels(project: Project, env: dict[str, str], folder: Path) -> dict[str, Path]:
    """The test split scored by `make serve` (with `env`), a row a request, each under its
    own X-Request-ID; then the labels as they arrive later: right, and flipped."""
    with (project.path / "data" / "prepared" / "test.csv").open() as file:
        rows = [{name: float(value) for name, value in row.items()} for row in csv.DictReader(file)]
    truth = [int(row.pop("target")) for row in rows]
    with project.serving(env) as url:
        for number, row in enumerate(rows):
            body = json.dumps({"instances": [row]}).encode()
            headers = {"Content-Type": "application/json", "X-Request-ID": f"late-{number}"}
            request = urllib.request.Request(f"{url}/predict", body, headers, method="POST")
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.headers["X-Request-ID"] == f"late-{number}"
    labels = {}
    for name, flip in (("right", 0), ("flipped", 1)):
        lines = [f"late-{number},{label ^ flip}" for number, label in enumerate(truth)]
        labels[name] = folder / f"{name}.csv"
        labels[name].write_text("request_id,target\n" + "\n".join(lines) + "\n")
    return labels


def evaluated(rules: list[dict]) -> list[dict] | None:
    """The rules, once Prometheus has evaluated every one of them."""
    done = all(not rule["lastEvaluation"].startswith("0001") for rule in rules)
    return rules if rules and done else None


class InputSamplingChecks:
    """The service samples what it scores; `make drift` without CURRENT checks the samples."""

    def test_sampled_inputs_feed_the_drift_check(self, project, champion, tmp_path):
        samples = tmp_path / "samples"
        env = {"SAMPLE_RATE": "1", "SAMPLE_DIR": str(samples)}
        batch = (project.path / "data" / "examples" / "batch_clean.csv").read_text().splitlines()
        header = batch[0].split(",")
        rows = [dict(zip(header, map(float, line.split(",")), strict=True)) for line in batch[1:]]
        with project.serving(env) as url:
            for start in range(0, len(rows), 50):
                body = json.dumps({"instances": rows[start : start + 50]}).encode()
                assert post_json(f"{url}/predict", body)[0] == 200
        (kept,) = samples.glob("samples-*.jsonl")  # 200 rows, far below a file's 10,000
        lines = kept.read_text().splitlines()
        assert [row for line in lines for row in json.loads(line)["instances"]] == rows
        checked = project.run("make", "drift", env=env)
        assert "No drift:" in checked


class ChallengerTrafficChecks:
    """CHALLENGER=canary sends requests to the challenger; shadow answers as the champion."""

    def test_canary_and_shadow_on_the_running_service(self, project, champion, tmp_path):
        """The canary runs the version CHALLENGER_VERSION pins, by number; without one,
        the champion answers every request."""
        example = (project.path / "examples" / "request.json").read_bytes()
        canary = {"CHALLENGER": "canary", "CANARY_SHARE": "1"}
        with project.serving({**canary, "CHALLENGER_VERSION": champion}) as url:
            answers = [post_json(f"{url}/predict", example)[1] for _ in range(5)]
            metrics = get_text(f"{url}/metrics")
        assert re.search(rf'_model_info\{{variant="challenger",version="{champion}"\}} 1', metrics)
        assert {answer["model_version"] for answer in answers} == {champion}
        with project.serving(canary) as url:
            for _ in range(5):
                post_json(f"{url}/predict", example)
            assert 'variant="challenger"' not in get_text(f"{url}/metrics")
        with project.serving(
            {"CHALLENGER": "shadow", "CHALLENGER_VERSION": champion, "SAMPLE_DIR": str(tmp_path)}
        ) as url:
            answers = [post_json(f"{url}/predict", example)[1] for _ in range(5)]
        assert all(answer == answers[0] for answer in answers)
        logged = (tmp_path / "shadow.jsonl").read_text().splitlines()
        assert len(logged) == 5 and json.loads(logged[0])["champion"] == answers[0]
