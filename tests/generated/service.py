"""Checks of what runs beside the service: its metrics, input sampling, challenger traffic."""

from __future__ import annotations

import json

import pytest

from harness.project import (
    get_text,
    post_json,
)
from tests.generated.base import PROMETHEUS
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
        with project.serving() as url, pushgateway(tmp_path) as gateway:
            for _ in range(20):
                post_json(f"{url}/predict", example)
            post_json(f"{url}/predict", b'{"instances": [{"mean_radius": "x"}]}')
            pushed = project.run(
                "make", "drift", "CURRENT=data/examples/batch_shifted.csv", check=False,
                env={"PUSHGATEWAY_URL": f"http://{gateway}"},
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
        example = (project.path / "examples" / "request.json").read_bytes()
        with project.serving({"CHALLENGER": "canary", "CANARY_SHARE": "1"}) as url:
            for _ in range(5):
                post_json(f"{url}/predict", example)
            assert 'variant="challenger"' in get_text(f"{url}/metrics")
        with project.serving({"CHALLENGER": "shadow", "SAMPLE_DIR": str(tmp_path)}) as url:
            answers = [post_json(f"{url}/predict", example)[1] for _ in range(5)]
        assert all(answer == answers[0] for answer in answers)
        logged = (tmp_path / "shadow.jsonl").read_text().splitlines()
        assert len(logged) == 5 and json.loads(logged[0])["champion"] == answers[0]
