"""Progressive delivery: each release as an Argo Rollouts canary, judged on the service's
metrics with the alert rules' limits, rolled back by Argo Rollouts when they fail, and
the deploy job's wait and issue that say how it ended."""

from __future__ import annotations

import copy
import json
import math
import re
import shutil
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path

import jsonschema
import pytest
import yaml

from harness.project import post_json
from tests.generated.base import step_script
from tests.generated.kubernetes import by_kind
from tests.generated.monitoring import promtool
from tests.prometheus import INTERVAL, prometheus_with, wait_for
from tests.prometheus import missing_tools as prometheus_tools_missing

SCHEMAS = Path(__file__).parents[1] / "schemas" / "argo-rollouts"
COMPONENT = "deploy/k8s/components/progressive-rollout"
# The arguments the Rollout gives its analysis, as a cluster would resolve them.
ARGS = {"namespace": "churn-prod", "canary-hash": "c4n4ry", "stable-hash": "st4bl3"}
ABORTED = (
    'RolloutAborted: Rollout aborted update to revision 4: Metric "error-ratio" assessed'
    " Failed due to failed (2) > failureLimit (1)"
)


def strict(schema: dict) -> dict:
    """The schema as a cluster's strict field validation applies it: an object that lists
    its properties refuses any other, unless it preserves unknown fields."""
    schema = copy.deepcopy(schema)

    def close(node: object) -> None:
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schema)
    return schema


def schema_errors(item: dict) -> list[str]:
    """What Argo Rollouts' CRD schema (tests/schemas) refuses in one of its objects."""
    crd = json.loads((SCHEMAS / f"{item['kind'].lower()}.json").read_text())
    assert item["apiVersion"] == f"{crd['group']}/{crd['version']}", item["apiVersion"]
    validator = jsonschema.Draft7Validator(strict(crd["openAPIV3Schema"]))
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(item)
    ]


def argo_condition(condition: str, result: list[float]) -> bool:
    """A condition of Argo Rollouts' expression language, for the part of it the
    template uses: `result` (the query's values), len, isNaN, indexing, comparisons,
    &&, || and !."""
    assert re.fullmatch(r"[\w\s\[\]().<>=!&|]+", condition), condition
    python = condition.replace("&&", " and ").replace("||", " or ")
    python = re.sub(r"!(?!=)", " not ", python)
    names = {"len": len, "isNaN": math.isnan, "result": result}
    return bool(eval(python, {"__builtins__": {}}, names))


def verdict(metric: dict, result: list[float]) -> str:
    """How Argo Rollouts rates one measurement with both conditions set."""
    if argo_condition(metric["failureCondition"], result):
        return "Failed"
    if argo_condition(metric["successCondition"], result):
        return "Successful"
    return "Inconclusive"


def resolved(query: str, **args: str) -> str:
    """The query with the analysis' arguments filled in (ARGS, or those given)."""
    values = {**ARGS, **args}
    return re.sub(r"\{\{args\.([\w-]+)\}\}", lambda found: values[found.group(1)], query)


def limit_of(metric: dict) -> float:
    (value,) = re.findall(r"result\[0\] > ([\d.]+)$", metric["failureCondition"])
    return float(value)


def alert_limits(project_path: Path) -> dict[str, float]:
    """The limits of the service's error-rate and latency alerts, from alerts.yml."""
    rules = yaml.safe_load((project_path / "monitoring/prometheus/alerts.yml").read_text())
    limits = {}
    for group in rules["groups"]:
        for rule in group["rules"]:
            for suffix in ("HighErrorRate", "HighLatency"):
                if rule.get("alert", "").endswith(suffix):
                    (limits[suffix],) = re.findall(r"> ([\d.]+)\s*$", rule["expr"])
    return {name: float(value) for name, value in limits.items()}


def series(prefix: str, pods: str, requests: int, errors: int, slow: bool, score: float):
    """A pod set's counters over 15 minutes, per minute: `requests` answered 200 and
    `errors` 500, all within 0.25 s (or half of them past 0.5 s), scores of mean `score`."""
    where = f'namespace="{ARGS["namespace"]}", rollouts_pod_template_hash="{pods}"'
    total = requests + errors
    quick = total // 2 if slow else total
    lines = {
        f'{prefix}_http_requests_total{{{where}, route="/predict", status="200"}}': requests,
        f'{prefix}_http_requests_total{{{where}, route="/predict", status="500"}}': errors,
        f'{prefix}_prediction_score_sum{{{where}, variant="champion"}}': total * score,
        f'{prefix}_prediction_score_count{{{where}, variant="champion"}}': total,
    }
    buckets = {"0.25": quick, "0.5": quick, "1.0": total, "+Inf": total}
    for bound, count in buckets.items():
        name = f"{prefix}_http_request_duration_seconds_bucket"
        lines[f'{name}{{{where}, route="/predict", le="{bound}"}}'] = count
    return [{"series": name, "values": f"0+{step}x15"} for name, step in lines.items()]


class ProgressiveRolloutChecks:
    """The progressive-rollout component of the prod overlay and the deploy job's wait."""

    def test_the_rollout_passes_argo_rollouts_own_schemas_and_takes_over_the_pods(
        self, project, overlays
    ):
        """Rollout and AnalysisTemplate validate against the CRDs' schemas, strictly (an
        unknown field is refused); the Rollout runs the Deployment's pods, the autoscaler
        scales it, its analysis gets every argument it needs, and Prometheus tells the
        canary's pods from the stable ones."""
        name = project.package.replace("_", "-")
        assert not {"Rollout", "AnalysisTemplate"} & set(by_kind(overlays["staging"]))
        kinds = by_kind(overlays["prod"])
        rollout, template = kinds["Rollout"][name], kinds["AnalysisTemplate"][f"{name}-canary"]
        for item in (rollout, template):
            assert schema_errors(item) == [], item["kind"]
        tampered = copy.deepcopy(rollout)
        tampered["spec"]["strategy"]["canary"]["stepz"] = []
        assert any("stepz" in error for error in schema_errors(tampered))
        deployment = kinds["Deployment"][name]
        assert rollout["spec"]["workloadRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
            "scaleDown": "progressively",
        }
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        selector = rollout["spec"]["selector"]["matchLabels"]
        assert selector == deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod_labels.items()
        scaled = kinds["HorizontalPodAutoscaler"][name]["spec"]["scaleTargetRef"]
        assert (scaled["kind"], scaled["name"]) == ("Rollout", name)
        canary = rollout["spec"]["strategy"]["canary"]
        weights = [step["setWeight"] for step in canary["steps"] if "setWeight" in step]
        assert weights == sorted(weights) and weights[-1] < 100
        assert [item["templateName"] for item in canary["analysis"]["templates"]] == [
            template["metadata"]["name"]
        ]
        given = {arg["name"] for arg in canary["analysis"]["args"]}
        needed = {arg["name"] for arg in template["spec"]["args"] if "value" not in arg}
        assert needed == given == set(ARGS)
        monitor = kinds["ServiceMonitor"][name]["spec"]
        assert "rollouts-pod-template-hash" in monitor["podTargetLabels"]

    def test_the_analysis_judges_the_canary_by_the_alert_limits(self, project, overlays, tmp_path):
        """Each measurement fails past the alert's limit, passes within it, and says
        nothing without traffic; Prometheus (promtool) evaluates each query on a healthy
        canary beside failing stable pods, on a failing canary, and on one with no
        traffic: only the canary's own series decide."""
        name = project.package.replace("_", "-")
        template = by_kind(overlays["prod"])["AnalysisTemplate"][f"{name}-canary"]
        metrics = {metric["name"]: metric for metric in template["spec"]["metrics"]}
        assert set(metrics) == {"error-ratio", "p99-latency", "score-shift"}
        alerts = alert_limits(project.path)
        assert limit_of(metrics["error-ratio"]) == alerts["HighErrorRate"]
        assert limit_of(metrics["p99-latency"]) == alerts["HighLatency"]
        for metric in metrics.values():
            limit = limit_of(metric)
            assert verdict(metric, [limit / 2]) == "Successful", metric["name"]
            assert verdict(metric, [limit]) == "Successful", metric["name"]
            assert verdict(metric, [limit * 2]) == "Failed", metric["name"]
            assert verdict(metric, []) == "Inconclusive", metric["name"]
            assert verdict(metric, [math.nan]) == "Inconclusive", metric["name"]
            assert metric["failureLimit"] == 1 and metric["interval"] == "1m"
        # Each query as two alerts: its failure condition, and its success condition.
        rules = []
        for metric in metrics.values():
            query, limit = resolved(metric["provider"]["prometheus"]["query"]), limit_of(metric)
            rules.append({"alert": f"{metric['name']}-fails", "expr": f"({query}) > {limit}"})
            rules.append({"alert": f"{metric['name']}-passes", "expr": f"({query}) <= {limit}"})
        (tmp_path / "analysis.yml").write_text(
            yaml.safe_dump({"groups": [{"name": "analysis", "rules": rules}]})
        )
        prefix = project.package
        scenarios = {
            # A healthy canary beside stable pods that fail: the canary passes.
            "healthy": series(prefix, "c4n4ry", 60, 1, False, 0.32)
            + series(prefix, "st4bl3", 60, 30, True, 0.30),
            # A canary with 9 % errors, a slow p99 and scores far from the stable ones.
            "failing": series(prefix, "c4n4ry", 60, 6, True, 0.70)
            + series(prefix, "st4bl3", 60, 0, False, 0.30),
            # No request reached the canary: neither condition holds.
            "quiet": series(prefix, "st4bl3", 60, 0, False, 0.30),
        }
        firing = {
            "healthy": {f"{metric}-passes" for metric in metrics},
            "failing": {f"{metric}-fails" for metric in metrics},
            "quiet": set(),
        }
        tests = [
            {
                "interval": "1m",
                "input_series": scenarios[scenario],
                "alert_rule_test": [
                    {
                        "eval_time": "10m",
                        "alertname": rule["alert"],
                        "exp_alerts": [{}] if rule["alert"] in firing[scenario] else [],
                    }
                    for rule in rules
                ],
            }
            for scenario in scenarios
        ]
        (tmp_path / "analysis_test.yml").write_text(
            yaml.safe_dump({"rule_files": ["analysis.yml"], "tests": tests})
        )
        promtool("test", "rules", "analysis_test.yml", cwd=tmp_path)

    def test_a_real_prometheus_passes_a_good_canary_and_fails_a_broken_one(
        self, project, champion, overlays, tmp_path
    ):
        """The analysis' queries on a real Prometheus scraping the service as the
        cluster's does: stable pods serving the champion, a good canary serving it too, and
        a broken canary (its pinned version does not exist: every prediction answers 503),
        each labelled with its pod-template hash. Under the same traffic, the good canary
        passes every measurement and the broken one fails on its error ratio, which
        aborts a rollout."""
        if missing := prometheus_tools_missing():
            pytest.fail(f"{', '.join(missing)} not on PATH: apt-get install prometheus")
        name = project.package.replace("_", "-")
        template = by_kind(overlays["prod"])["AnalysisTemplate"][f"{name}-canary"]
        example = (project.path / "examples" / "request.json").read_bytes()
        pods = {"st4bl3": champion, "g00dc4": champion, "b4dc4n": "999999"}
        with ExitStack() as stack:
            urls = {
                pod: stack.enter_context(project.serving({"MODEL_VERSION": version}))
                for pod, version in pods.items()
            }
            config = {
                "global": {"scrape_interval": INTERVAL, "evaluation_interval": INTERVAL},
                "scrape_configs": [
                    {
                        "job_name": name,
                        "static_configs": [
                            {
                                "targets": [url.removeprefix("http://")],
                                "labels": {
                                    "namespace": ARGS["namespace"],
                                    "rollouts_pod_template_hash": pod,
                                },
                            }
                            for pod, url in urls.items()
                        ],
                    }
                ],
            }
            server = stack.enter_context(prometheus_with(config, tmp_path))
            wait_for("every pod up", lambda: len(server.query("up == 1")) == len(pods))
            ends = time.monotonic() + 12
            while time.monotonic() < ends:  # the same traffic to every pod
                for url in urls.values():
                    post_json(f"{url}/predict", example)
                time.sleep(0.2)
            time.sleep(3)  # the last scrapes

            def measure(canary: str) -> dict[str, str]:
                verdicts = {}
                for metric in template["spec"]["metrics"]:
                    query = resolved(
                        metric["provider"]["prometheus"]["query"],
                        **{"canary-hash": canary, "stable-hash": "st4bl3"},
                    )
                    result = [float(item["value"][1]) for item in server.query(query)]
                    verdicts[metric["name"]] = verdict(metric, result)
                return verdicts

            good, broken = measure("g00dc4"), measure("b4dc4n")
        assert good == dict.fromkeys(good, "Successful"), good
        assert broken["error-ratio"] == "Failed", broken
        assert broken["score-shift"] == "Inconclusive", broken  # it scored nothing

    def test_the_deploy_job_waits_for_the_canary_and_reports_a_rollback(self, project, tmp_path):
        """The deploy job's wait, under kubectl as a cluster answers it: a Healthy status
        from before the release does not end it; the canary's full rollout passes; an
        aborted one fails the step with Argo's reason as its verdict, which the report
        job puts in one issue with the registry's state; a paused one times out saying a
        person decides; without the Rollout, the Deployment's rollout is waited for."""
        name = project.package.replace("_", "-")
        workflow = project.path / ".github/workflows/cd.yml"
        jobs = yaml.safe_load(workflow.read_text())["jobs"]
        assert jobs["deploy"]["outputs"]["verdict"] == "${{ steps.rollout.outputs.verdict }}"
        report = jobs["report-rollback"]
        assert report["needs"] == ["request", "deploy"]
        assert report["if"] == "${{ failure() && needs.deploy.result == 'failure' }}"
        assert report["permissions"] == {"issues": "write"}
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        # kubectl answers from STATES, one status line per `get rollout`, the last repeated.
        (bin_dir / "kubectl").write_text(
            "#!/bin/sh\n"
            'echo "$*" >> "$KUBECTL_CALLS"\n'
            'case "$*" in\n'
            '  *"get rollout/"*"--output name"*) [ -n "$ROLLOUT" ] ;;\n'
            '  *"get rollout/"*)\n'
            '    line=$(head -n 1 "$STATES")\n'
            '    if [ "$(wc -l < "$STATES")" -gt 1 ]; then sed -i 1d "$STATES"; fi\n'
            '    printf %s "$line" ;;\n'
            '  *"get deployment/"*) printf 4 ;;\n'
            '  *"rollout status deployment/"*) echo "deployment successfully rolled out" ;;\n'
            "  *) exit 3 ;;\n"
            "esac\n"
        )
        (bin_dir / "kubectl").chmod(0o755)
        wait = step_script(workflow, "deploy", "Wait until the pods serve the version")

        def deploy(states: list[str], rollout: bool = True, **extra: str):
            (tmp_path / "states").write_text("\n".join(states) + "\n")
            output = tmp_path / "github_output"
            output.write_text("")
            env = {
                **project.env(),
                "PATH": f"{bin_dir}:{project.env()['PATH']}",
                "KUBECTL_CALLS": str(tmp_path / "calls"),
                "STATES": str(tmp_path / "states"),
                "ROLLOUT": "yes" if rollout else "",
                "RUNNER_TEMP": str(tmp_path),
                "GITHUB_OUTPUT": str(output),
                "POLL_SECONDS": "0",
                **extra,
            }
            done = subprocess.run(wait, cwd=project.path, env=env, capture_output=True, text=True)
            return done, output.read_text()

        before = "3|Healthy|old|old|"
        done, output = deploy([before, "4|Paused|new|old|CanaryPauseStep", "4|Healthy|new|new|"])
        assert done.returncode == 0, done.stderr
        assert f"Every pod of rollout/{name} serves the release (pods new)" in done.stdout
        assert "Healthy" in done.stdout.splitlines()[0] and output == ""
        done, output = deploy([before, "4|Progressing|new|old|", f"4|Degraded|new|old|{ABORTED}"])
        assert done.returncode == 1
        (line,) = output.splitlines()
        assert line.startswith(f"verdict=rollout/{name} rolled the release back: {ABORTED}.")
        assert "The pods of the version before it (old) serve every request." in line
        assert line.removeprefix("verdict=") in done.stderr
        paused = deploy(["4|Paused|new|old|InconclusiveAnalysisRun"], TIMEOUT_SECONDS="0")
        assert paused[0].returncode == 1
        assert "has not finished after 0s: Paused: InconclusiveAnalysisRun" in paused[1]
        assert f"kubectl argo rollouts promote {name}" in paused[1]
        if shutil.which("shellcheck"):
            checked = project.run("shellcheck", f"{COMPONENT}/rollout-status.sh", check=False)
            assert not checked.strip(), checked
        plain, _ = deploy([], rollout=False)
        assert plain.returncode == 0, plain.stderr
        calls = (tmp_path / "calls").read_text().splitlines()
        assert calls[-1].startswith(f"rollout status deployment/{name} --namespace {name}-prod")
        # The report: one issue, with the version the registry holds and the verdict.
        (bin_dir / "gh").write_text(
            '#!/bin/sh\nprintf \'%s|\' "$@" >> "$GH_CALLS"; echo >> "$GH_CALLS"\n'
            'if [ "$1 $2" = "issue list" ]; then printf \'%s\' "$OPEN_ISSUE"; fi\n'
        )
        (bin_dir / "gh").chmod(0o755)
        report_step = step_script(
            workflow, "report-rollback", "Report the release production did not take"
        )
        gh_calls = tmp_path / "gh_calls"
        for open_issue in ("", "12"):
            project.run(
                *report_step,
                env={
                    "PATH": f"{bin_dir}:{project.env()['PATH']}",
                    "GH_CALLS": str(gh_calls),
                    "OPEN_ISSUE": open_issue,
                    "GITHUB_REPOSITORY": "team/project",
                    "RUN_URL": "https://github.com/team/project/actions/runs/1",
                    "VERSION": "7",
                    "VERDICT": line.removeprefix("verdict="),
                },
            )
        created, commented = gh_calls.read_text().splitlines()[1::2]
        assert "issue|create|" in created and "|A release did not reach production|" in created
        assert "issue|comment|12|" in commented
        for call in (created, commented):
            assert f"version 7 of {name} is the registry's champion" in call
            assert ABORTED in call and "model_version" in call
