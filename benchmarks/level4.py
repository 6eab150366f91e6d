"""Section 5: what level 4 adds at run time: the drift check, and the service's metrics
and input sampling.

Drift: `make drift CURRENT=<batch>` on the two shipped batches of a level-4 project with
a champion, against `benchmarks/bare_drift.py`, Evidently's drift preset on the same
frames with nothing around it (no input checks, MLflow run, audit record or export).

Service: the level-4 online service under the same `wrk` load as section 4, with its
Prometheus metrics on and sampling off (SAMPLE_RATE=0), with sampling at its default
rate, and with every request sampled (SAMPLE_RATE=1), against the level-3 online service
of the same template: the same model code with neither. Rounds rotate the servers'
order, and their number is rounded up to a multiple of the servers' count, so that each
server runs in each position equally often. Then sampling off against the default rate
alone, alternating, in PAIRS rounds; and the sampler's own cost, measured in the
project's environment: a request's part (`offer()`) and the writer's work per second.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from benchmarks import serving
from benchmarks.common import BENCH, Row, child_env, git_commit_all, log, median, run, uv

BATCHES = ("batch_clean", "batch_shifted")
EXPECTED_EXIT = {"batch_clean": 0, "batch_shifted": 3}  # 3: the job found drift
LEVEL3, METRICS = "level 3 service", "level 4, metrics"
SAMPLED = "level 4, metrics + sampling at the default rate (0.1)"
ALL_SAMPLED = "level 4, metrics + every request sampled"
PAIRS = 12  # rounds of sampling off against the default rate, alternating


def with_champion(project: Path) -> Path:
    """Commit the project and run `make repro` (DVC wants git), which registers a champion."""
    git_commit_all(project, "rendered")
    log(f"{project.name}: make repro (registers the champion, untimed)")
    run(["make", "repro", f"UV={uv()}"], project)
    return project


def timed_exit(command: list[str], cwd: Path, expected: int) -> float:
    """Seconds `command` took; it must end with the job's status `expected`. Through make,
    a job's non-zero status N shows as make's status 2 and its message `Error N`."""
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=child_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if command[0] == "make" and expected:
        ended_as_expected = result.returncode == 2 and f"Error {expected}" in result.stderr
    else:
        ended_as_expected = result.returncode == expected
    if not ended_as_expected:
        raise RuntimeError(
            f"`{' '.join(command)}` exited {result.returncode}, not {expected}\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return seconds


def drift(project: Path, rounds: int) -> list[Row]:
    reference = project / "data" / "prepared" / "train.csv"
    times: dict[str, list[float]] = {}
    for round_ in range(-1, rounds):  # round -1 warms caches and bytecode, untimed
        log(f"drift round {round_ + 1}/{rounds}" if round_ >= 0 else "drift warm-up")
        for batch in BATCHES:
            csv = f"data/examples/{batch}.csv"
            ours = ["make", "drift", f"CURRENT={csv}", f"UV={uv()}"]
            bare = [".venv/bin/python", str(BENCH / "bare_drift.py"), str(reference), csv]
            for name, command, expected in (
                (batch, ours, EXPECTED_EXIT[batch]),
                (f"bare {batch}", bare, 0),
            ):
                seconds = timed_exit(command, project, expected)
                if round_ >= 0:
                    times.setdefault(name, []).append(seconds)
    return [
        Row(
            "level 4",
            f"`make drift`, {batch}.csv (exit {EXPECTED_EXIT[batch]})",
            "s",
            median(times[batch]),
            [("bare Evidently report", median(times[f"bare {batch}"]))],
            samples=times[batch],
        )
        for batch in BATCHES
    ]


def project_service(name: str, env: dict[str, str]) -> serving.Server:
    """`<package> serve` of a project, with `env` added to its environment."""
    command = [f".venv/bin/{serving.PACKAGE}", "serve"]
    return serving.Server(name, lambda port: command, "/ready", "/predict", "instances", env)


def service(
    level3: Path, level4: Path, work: Path, rounds: int, load: serving.Load
) -> tuple[list[Row], dict[str, object]]:
    work.mkdir(parents=True)
    if not serving.shutil.which("wrk"):
        note = "skipped: wrk is not installed"
        return [Row("level 4", "service req/s", "req/s", None, note=note)], {"skipped": note}
    quiet = {"SAMPLE_DIR": str(work / "samples"), "CHALLENGER": "none"}
    servers = {
        LEVEL3: (project_service(LEVEL3, {}), level3),
        METRICS: (project_service(METRICS, {**quiet, "SAMPLE_RATE": "0"}), level4),
        SAMPLED: (project_service(SAMPLED, quiet), level4),
        ALL_SAMPLED: (project_service(ALL_SAMPLED, {**quiet, "SAMPLE_RATE": "1"}), level4),
    }
    pins = serving.cpu_pins()
    bodies = serving.write_bodies(level4, work)
    samples, failed = rotate(servers, rounds, bodies, load, pins, work)

    def value(name: str, metric: str, count: int) -> float:
        return median(samples[name, metric, count])

    errors = failures(failed)
    rows = []
    for count in serving.ROW_COUNTS:
        for metric, label, unit in (("rps", "req/s", "req/s"), ("p99", "p99 latency", "ms")):
            for name in (METRICS, SAMPLED, ALL_SAMPLED):
                baselines = [(LEVEL3, value(LEVEL3, metric, count))]
                if name != METRICS:
                    baselines.append((METRICS, value(METRICS, metric, count)))
                rows.append(
                    Row(
                        "level 4",
                        f"{name}: {label}, {count}-row body",
                        unit,
                        value(name, metric, count),
                        baselines,
                        note=errors,
                        samples=samples[name, metric, count],
                    )
                )
    # Sampling off against the default rate alone, alternating, in more rounds.
    pairs = {name: servers[name] for name in (METRICS, SAMPLED)}
    paired, paired_failed = rotate(pairs, PAIRS if rounds > 1 else 1, bodies, load, pins, work)
    for count in serving.ROW_COUNTS:
        for metric, label, unit in (("rps", "req/s", "req/s"), ("p99", "p99 latency", "ms")):
            off = (f"{METRICS}, same pairs", median(paired[METRICS, metric, count]))
            rows.append(
                Row(
                    "level 4",
                    f"{SAMPLED}, alternating with sampling off: {label}, {count}-row body",
                    unit,
                    median(paired[SAMPLED, metric, count]),
                    [off],
                    note=failures(paired_failed),
                    samples=paired[SAMPLED, metric, count],
                )
            )
    request_us = 1e6 / value(SAMPLED, "rps", 100)
    rows += sampler(level4, bodies["instances", 100], max(rounds, 5), request_us)
    details: dict[str, object] = {
        "pinning": pins[2],
        "failed_requests": failed,
        "failed_requests_in_pairs": paired_failed,
        "rounds": len(samples[METRICS, "rps", 100]),
        "pairs": len(paired[METRICS, "rps", 100]),
        "pair_samples": {
            f"{name} {metric} {count}": values for (name, metric, count), values in paired.items()
        },
    }
    return rows, details


def failures(failed: dict[str, float]) -> str:
    """The servers that failed requests, and how many, for a row's note."""
    return ", ".join(f"{name}: {count:.0f} failed" for name, count in failed.items() if count)


def rotate(
    servers: dict[str, tuple[serving.Server, Path]],
    rounds: int,
    bodies: dict[tuple[str, int], Path],
    load: serving.Load,
    pins: tuple[list[str], list[str], str],
    work: Path,
) -> tuple[dict[tuple[str, str, int], list[float]], dict[str, float]]:
    """`wrk` against each server in turn, in rounds rotating their order; the rounds are
    rounded up to a multiple of the servers' count, so that each server runs in each
    position equally often. Returns the samples by (server, metric, rows) and the
    failed requests by server."""
    server_pin, wrk_pin, _ = pins
    samples: dict[tuple[str, str, int], list[float]] = {}
    failed = dict.fromkeys(servers, 0.0)
    names = list(servers)
    rounds = -(-rounds // len(names)) * len(names)
    for round_ in range(-1, rounds):  # round -1 starts each server once, untimed
        log(f"level 4 service round {round_ + 1}/{rounds}" if round_ >= 0 else "service warm-up")
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            server, project = servers[name]
            with serving.running(server, project, server_pin, work) as (url, _):
                target = url + server.predict_path
                serving.wrk(target, bodies["instances", 100], load.warmup_seconds, load, wrk_pin)
                if round_ < 0:
                    continue
                for count in serving.ROW_COUNTS:
                    result = serving.wrk(
                        target, bodies["instances", count], load.seconds, load, wrk_pin
                    )
                    failed[name] += result["failed"]
                    for metric in ("rps", "p99"):
                        samples.setdefault((name, metric, count), []).append(result[metric])
    return samples, failed


def sampler(project: Path, body: Path, rounds: int, request_us: float) -> list[Row]:
    """The input sampler's own cost (benchmarks/sampler_cost.py): a request's `offer()`
    against the time the service spends on a 100-row request, and the writer's work for
    one second at its cap against that second."""
    script = [".venv/bin/python", str(BENCH / "sampler_cost.py"), serving.PACKAGE]
    cost = json.loads(run([*script, str(body), str(rounds)], project))
    offer = [
        Row(
            "level 4",
            f"input sampler: `offer()` at rate {rate}, 100-row body",
            "µs",
            cost["offer_ns"][rate] / 1000,
            [("a 100-row request, sampling at 0.1 (1 / req/s)", request_us)],
        )
        for rate in ("0.1", "1.0")
    ]
    writing = Row(
        "level 4",
        f"input sampler: the writer's work for one second at the cap ({cost['rows']} rows)",
        "ms",
        median(cost["write_s"]) * 1000,
        [("one second", 1000.0)],
        samples=[seconds * 1000 for seconds in cost["write_s"]],
    )
    return [*offer, writing]
