"""Rendering projects from the template and running their own commands."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from copier import run_copy, run_update

from tests.matrix import pythons

# Generated projects share one uv cache, so every `make setup` links packages in seconds.
UV_CACHE = Path(os.environ.get("UV_CACHE_DIR") or Path.home() / ".cache" / "uv")
# Variables of the caller's own environment that would leak into a generated project.
LEAKY = ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "MLFLOW_TRACKING_URI", "PYTHONDONTWRITEBYTECODE")


@cache
def uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        raise RuntimeError("uv is needed to set up generated projects; run the suite via make test")
    return found


@cache
def project_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in LEAKY}
    env.update(
        PATH=os.pathsep.join([str(Path(uv()).parent), env.get("PATH", "")]),
        UV=uv(),
        UV_CACHE_DIR=str(UV_CACHE),
        UV_PYTHON=f"{sys.version_info.major}.{sys.version_info.minor}",
        MLFLOW_DISABLE_TELEMETRY="true",
        DVC_NO_ANALYTICS="1",
        DO_NOT_TRACK="1",
    )
    return env


def render(template: Path, dst: Path, **data: Any) -> Project:
    """`copier copy --trust --defaults` with the given answers."""
    run_copy(
        str(template),
        dst,
        data=data,
        defaults=True,
        unsafe=True,
        quiet=True,
        vcs_ref="HEAD",
    )
    return Project(dst, pythons().get(data.get("python_version", "")))


@dataclass
class Project:
    path: Path
    interpreter: str | None = None  # the Python `make setup` builds .venv from

    def env(self) -> dict[str, str]:
        extra = {"UV_PYTHON": self.interpreter} if self.interpreter else {}
        return {**project_env(), **extra}

    @property
    def answers(self) -> dict[str, Any]:
        import yaml

        return yaml.safe_load((self.path / ".copier-answers.yml").read_text(encoding="utf-8"))

    def update(self, **data: Any) -> None:
        """`copier update --trust --defaults` with the given answers."""
        run_update(self.path, data=data, defaults=True, unsafe=True, quiet=True, overwrite=True)

    def run(self, *command: str, check: bool = True, timeout: float = 600) -> str:
        """Run a command in the project; on failure, fail with its whole output."""
        result = subprocess.run(
            command,
            cwd=self.path,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"`{' '.join(command)}` exited {result.returncode} in {self.path}\n"
                f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
            )
        return result.stdout + result.stderr

    def make(self, *targets: str, **variables: str) -> str:
        assignments = [f"{name}={value}" for name, value in variables.items()]
        return self.run("make", *targets, *assignments)

    def python(self, code: str) -> Any:
        """Run `code` with the project's interpreter; it prints one JSON value."""
        return json.loads(self.run(".venv/bin/python", "-c", code).strip().splitlines()[-1])

    def git_commit_all(self, message: str) -> None:
        if not (self.path / ".git").exists():
            self.run("git", "init", "--quiet", "--initial-branch=main")
        self.run("git", "add", "--all")
        self.run("git", "commit", "--quiet", "--no-verify", "-m", message)

    @contextmanager
    def serving(self, timeout: float = 60) -> Iterator[str]:
        """`make serve` on a free loopback port; yields its base URL, then stops it."""
        port = free_port()
        env = {**self.env(), "HOST": "127.0.0.1", "PORT": str(port)}
        server = subprocess.Popen(
            ["make", "serve"],
            cwd=self.path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while get_json(f"{url}/health")[0] != 200:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"make serve did not start: {server.stderr.read()}")
                time.sleep(0.2)
            yield url
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)

    def files(self) -> set[str]:
        """Every file below the project, relative, ignoring tool and runtime output."""
        skip = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache"}
        return {
            path.relative_to(self.path).as_posix()
            for path in self.path.rglob("*")
            if path.is_file() and not skip.intersection(path.relative_to(self.path).parts)
        }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get_json(url: str) -> tuple[int, Any]:
    """GET `url`: (status, decoded body), or (0, None) when nothing listens yet."""
    return _request(urllib.request.Request(url))


def post_json(url: str, body: bytes) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    return _request(urllib.request.Request(url, data=body, headers=headers, method="POST"))


def _request(request: urllib.request.Request) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except (urllib.error.URLError, ConnectionError):
        return 0, None


def check_jsonschema(path: Path, builtin_schema: str) -> None:
    """Validate a file against one of check-jsonschema's bundled (offline) schemas."""
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", builtin_schema, str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
