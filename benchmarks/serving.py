"""Section 4: the level-2 online service under load, against two baselines on the same model.

Each server runs from the project directory on 127.0.0.1 and a free port; `wrk` sends a
fixed JSON body (1 or 100 rows of the breast-cancer data) with fixed connections for a
fixed time. Rounds alternate the servers' order; the medians over rounds are reported.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import BENCH, MODEL_NAME, PACKAGE, Row, child_env, log, median, run
from harness.project import free_port

MODEL_URI = f"models:/{MODEL_NAME}@champion"
OURS, MLFLOW, BARE = "ours", "mlflow models serve", "bare FastAPI"
ROW_COUNTS = (1, 100)
READY_TIMEOUT = 180.0


@dataclass(frozen=True)
class Server:
    name: str
    command: Callable[[int], list[str]]
    ready_path: str
    predict_path: str
    body_format: str  # "instances" or "dataframe_split"
    env: dict[str, str] = field(default_factory=dict)  # added to the server's environment


@dataclass(frozen=True)
class Load:
    connections: int = 8
    threads: int = 2
    seconds: int = 10
    warmup_seconds: int = 2


def servers(project: Path) -> dict[str, Server | None]:
    """The two baselines, and the project's own service when the project has one."""
    mlflow_flags = ["--env-manager", "local", "--no-conda", "-h", "127.0.0.1", "-p"]
    ours = "\nserve:" in (project / "Makefile").read_text(encoding="utf-8")
    return {
        MLFLOW: Server(
            MLFLOW,
            lambda port: [
                ".venv/bin/mlflow",
                "models",
                "serve",
                "-m",
                MODEL_URI,
                *mlflow_flags,
                str(port),
            ],
            "/ping",
            "/invocations",
            "dataframe_split",
        ),
        BARE: Server(
            BARE,
            lambda port: [".venv/bin/python", str(BENCH / "bare_serve.py")],
            "/ready",
            "/predict",
            "instances",
        ),
        OURS: Server(
            OURS, lambda port: [f".venv/bin/{PACKAGE}", "serve"], "/ready", "/predict", "instances"
        )
        if ours
        else None,
    }


def cpu_pins() -> tuple[list[str], list[str], str]:
    """taskset prefixes for the server and for wrk, and a sentence saying what they do."""
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", "1"], ["taskset", "-c", "0"], "server on CPU 1, wrk on CPU 0"
    return [], [], "not pinned (taskset or a second CPU missing)"


def http(url: str, body: bytes | None = None) -> bytes:
    headers = {"Content-Type": "application/json"}
    with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=30) as reply:
        return bytes(reply.read())


@contextmanager
def running(
    server: Server, project: Path, pin: list[str], logs: Path
) -> Iterator[tuple[str, float]]:
    """Start `server`, wait until it answers its readiness path; yield its URL and startup time."""
    port = free_port()
    env = child_env(
        PORT=str(port),
        HOST="127.0.0.1",
        MODEL_URI=MODEL_URI,
        PATH=f"{project / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
        **server.env,
    )
    url = f"http://127.0.0.1:{port}"
    log_file = logs / f"{server.name.replace(' ', '-')}-{port}.log"
    with log_file.open("w") as output:
        start = time.perf_counter()
        process = subprocess.Popen(
            pin + server.command(port),
            cwd=project,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"{server.name} exited: {log_file.read_text()[-3000:]}")
                if time.perf_counter() - start > READY_TIMEOUT:
                    raise RuntimeError(f"{server.name} not ready in {READY_TIMEOUT:.0f} s")
                try:
                    http(url + server.ready_path)
                    break
                except OSError:
                    time.sleep(0.05)
            yield url, time.perf_counter() - start
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server's process group (it may have started children)."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def wrk(url: str, body: Path, seconds: int, load: Load, pin: list[str]) -> dict[str, float]:
    """One wrk run; requests/s, p50 and p99 latency (ms) and the count of failed requests."""
    command = [
        *pin,
        "wrk",
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(BENCH / "load.lua"),
        url,
    ]
    result = subprocess.run(
        command,
        env={**os.environ, "WRK_BODY": str(body)},
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith("BENCH_JSON "))
    data = json.loads(line.removeprefix("BENCH_JSON "))
    return {
        "rps": data["requests"] / (data["duration_us"] / 1e6),
        "p50": data["p50_us"] / 1000,
        "p99": data["p99_us"] / 1000,
        "failed": data["non_2xx"] + data["socket_errors"],
    }


def write_bodies(project: Path, work: Path) -> dict[tuple[str, int], Path]:
    """Request bodies of 1 and 100 rows in both request formats."""
    table = json.loads(run([".venv/bin/python", str(BENCH / "dump_rows.py"), "100"], project))
    bodies = {}
    for count in ROW_COUNTS:
        rows = table["data"][:count]
        formats = {
            "instances": {
                "instances": [dict(zip(table["columns"], row, strict=True)) for row in rows]
            },
            "dataframe_split": {"dataframe_split": {"columns": table["columns"], "data": rows}},
        }
        for name, body in formats.items():
            bodies[name, count] = work / f"{name}-{count}.json"
            bodies[name, count].write_text(json.dumps(body))
    return bodies


def bench(project: Path, work: Path, rounds: int, load: Load) -> tuple[list[Row], dict[str, Any]]:
    work.mkdir(parents=True)
    if not shutil.which("wrk"):
        note = "skipped: wrk is not installed"
        return [Row("serving", "req/s", "req/s", None, note=note)], {"skipped": note}
    known = servers(project)
    present = {name: server for name, server in known.items() if server is not None}
    server_pin, wrk_pin, pinning = cpu_pins()
    bodies = write_bodies(project, work)

    predictions: dict[str, list[Any]] = {}
    for server in present.values():  # untimed first start: bytecode, and the same answers?
        log(f"serving warm-up: {server.name}")
        with running(server, project, server_pin, work) as (url, _):
            body = bodies[server.body_format, 100].read_bytes()
            reply = json.loads(http(url + server.predict_path, body))
            predictions[server.name] = reply["predictions"]
    agree = len({json.dumps([float(value) for value in p]) for p in predictions.values()}) == 1

    samples: dict[tuple[str, str, int], list[float]] = {}
    startup: dict[str, list[float]] = {name: [] for name in present}
    failed: dict[str, float] = dict.fromkeys(present, 0.0)
    names = list(present)
    for round_ in range(rounds):
        log(f"serving round {round_ + 1}/{rounds}")
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            server = present[name]
            with running(server, project, server_pin, work) as (url, seconds):
                startup[name].append(seconds)
                target = url + server.predict_path
                wrk(target, bodies[server.body_format, 100], load.warmup_seconds, load, wrk_pin)
                for count in ROW_COUNTS:
                    result = wrk(
                        target, bodies[server.body_format, count], load.seconds, load, wrk_pin
                    )
                    failed[name] += result["failed"]
                    for metric in ("rps", "p50", "p99"):
                        samples.setdefault((name, metric, count), []).append(result[metric])

    def value(name: str, metric: str, count: int) -> float | None:
        values = samples.get((name, metric, count))
        return median(values) if values else None

    missing = "missing: the project has no `make serve`" if OURS not in present else ""
    errors = ", ".join(f"{name}: {count:.0f} failed" for name, count in failed.items() if count)
    rows = []
    for count in ROW_COUNTS:
        for metric, unit in (("rps", "req/s"), ("p50", "ms"), ("p99", "ms")):
            label = "req/s" if metric == "rps" else f"{metric} latency"
            rows.append(
                Row(
                    "serving",
                    f"{label}, {count}-row body",
                    unit,
                    value(OURS, metric, count),
                    [(name, value(name, metric, count)) for name in (MLFLOW, BARE)],
                    note=missing or errors,
                    samples=samples.get((OURS, metric, count), []),
                )
            )
    rows.append(
        Row(
            "serving",
            "start to ready",
            "s",
            median(startup[OURS]) if startup.get(OURS) else None,
            [(name, median(startup[name])) for name in (MLFLOW, BARE)],
            note=missing,
            samples=startup.get(OURS, []),
        )
    )
    details = {
        "pinning": pinning,
        "load": load.__dict__,
        "rounds": rounds,
        "predictions_agree": agree,
        "servers": list(known),
        "missing": [name for name, server in known.items() if server is None],
        "failed_requests": failed,
        "samples": {
            f"{name} {metric} {count}": values for (name, metric, count), values in samples.items()
        },
        "startup": startup,
    }
    return rows, details
