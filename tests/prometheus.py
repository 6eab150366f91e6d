"""A real Prometheus (and Pushgateway) on loopback, with a generated project's config.

The scrape check starts Debian's `prometheus` and `prometheus-pushgateway` with a
temporary copy of the project's monitoring/prometheus/prometheus.yml whose targets point
at the running service and the Pushgateway, scraping every second, and reads the
results back through Prometheus' HTTP API. Everything listens on 127.0.0.1 and stops
when the block ends.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import yaml

from harness.project import free_port

TOOLS = ("prometheus", "prometheus-pushgateway")
INTERVAL = "1s"  # rate(...[1m]) has data after two scrapes


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def wait_for(what: str, ready: Callable[[], Any], timeout: float = 60) -> Any:
    """Poll `ready()` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(OSError, KeyError):
            if result := ready():
                return result
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@contextmanager
def running(
    command: list[str], log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen]:
    with log.open("w") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )
    try:
        yield process
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@contextmanager
def pushgateway(folder: Path) -> Iterator[str]:
    """A Pushgateway on a free port; yields its address, host:port."""
    address = f"127.0.0.1:{free_port()}"
    # Debian's build keeps pushes in /var/lib/prometheus by default: in memory only here,
    # so each gateway starts empty.
    command = [
        "prometheus-pushgateway",
        f"--web.listen-address={address}",
        "--persistence.file=",
        "--log.level=warn",
    ]
    with running(command, folder / "pushgateway.log"):
        wait_for("the Pushgateway", lambda: urllib.request.urlopen(f"http://{address}/-/ready"))
        yield address


class Prometheus:
    """A running Prometheus, queried through its HTTP API."""

    def __init__(self, api: str) -> None:
        self.api = api

    def query(self, expression: str) -> list[dict[str, Any]]:
        encoded = urllib.parse.urlencode({"query": expression})
        return get(f"{self.api}/query?{encoded}")["data"]["result"]

    def targets(self) -> list[dict[str, Any]]:
        return get(f"{self.api}/targets")["data"]["activeTargets"]

    def rules(self) -> list[dict[str, Any]]:
        groups = get(f"{self.api}/rules")["data"]["groups"]
        return [rule for group in groups for rule in group["rules"]]


@contextmanager
def prometheus(
    project_config: Path, service: str, gateway: str, folder: Path
) -> Iterator[Prometheus]:
    """Prometheus with the project's config and rules, its targets moved to ours."""
    config = yaml.safe_load(project_config.read_text())
    config["global"].update(scrape_interval=INTERVAL, evaluation_interval=INTERVAL)
    for job in config["scrape_configs"]:
        target = gateway if job.get("honor_labels") else service
        job["static_configs"] = [{**group, "targets": [target]} for group in job["static_configs"]]
    for rules in config.get("rule_files", []):
        shutil.copy(project_config.parent / rules, folder / rules)
    with prometheus_with(config, folder) as server:
        yield server


@contextmanager
def prometheus_with(config: dict[str, Any], folder: Path) -> Iterator[Prometheus]:
    """Prometheus with `config` (written to `folder`, beside any rule files there)."""
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    address = f"127.0.0.1:{free_port()}"
    command = [
        "prometheus",
        f"--config.file={folder / 'prometheus.yml'}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address={address}",
        "--log.level=warn",
    ]
    with running(command, folder / "prometheus.log"):
        server = Prometheus(f"http://{address}/api/v1")
        wait_for("Prometheus", lambda: server.targets() is not None)
        yield server
