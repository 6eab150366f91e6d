"""Rendering projects from the template and running their own commands."""

from __future__ import annotations

import fcntl
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
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from copier import run_copy, run_update

from harness.matrix import pythons

# Generated projects share one uv cache, so every `make setup` links packages in seconds.
UV_CACHE = Path(os.environ.get("UV_CACHE_DIR") or Path.home() / ".cache" / "uv")
# Creates an MLflow SQLite store (its tables) at the path given.
CREATE_STORE = (
    "import sys, mlflow; mlflow.MlflowClient(f'sqlite:///{sys.argv[1]}').search_experiments()"
)
# Variables of the caller's own environment that would leak into a generated project.
LEAKY = (
    "VIRTUAL_ENV",
    "UV_PROJECT_ENVIRONMENT",
    "MLFLOW_TRACKING_URI",
    "PYTHONDONTWRITEBYTECODE",
    # `make test`'s own make: a project's make would run as its sub-make, not as a user's.
    "MAKELEVEL",
    "MAKEFLAGS",
    "MFLAGS",
)


def share_bytecode(venv: Path) -> None:
    """Compile the uv cache's copies of the packages in `venv`, once.

    uv links a package's files into a new environment from its cache (hard links), so
    the bytecode compiled there comes with every environment set up afterwards: a job's
    fresh clone, a climbed project. Without it, each of them compiles MLflow,
    scikit-learn and pandas again the first time a process imports them: seconds each.
    A cached package is known by its METADATA: the same file (inode) as the venv's.
    """
    linked = {
        (info.st_dev, info.st_ino)
        for metadata in venv.glob("lib/python*/site-packages/*.dist-info/METADATA")
        for info in [metadata.stat()]
    }
    archives = sorted(
        metadata.parent.parent
        for metadata in (UV_CACHE / "archive-v0").glob("*/*.dist-info/METADATA")
        for info in [metadata.stat()]
        if (info.st_dev, info.st_ino) in linked
    )
    if not archives:  # copied rather than linked (another file system): nothing shared
        return
    with (UV_CACHE / ".bytecode.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers: one compiles, the others wait
        # Not in a wheel's .data folder: uv checks its files against the wheel's RECORD.
        command = ["-m", "compileall", "-q", "-j", "0", "-x", r"\.data/", *map(str, archives)]
        subprocess.run(
            [str(venv / "bin" / "python"), *command],
            capture_output=True,  # files that are not this Python's syntax stay uncompiled
            check=False,
        )


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


def render(template: Path, dst: Path, vcs_ref: str = "HEAD", **data: Any) -> Project:
    """`copier copy --trust --defaults` of the template at `vcs_ref` with the given answers."""
    run_copy(
        str(template),
        dst,
        data=data,
        defaults=True,
        unsafe=True,
        quiet=True,
        vcs_ref=vcs_ref,
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

    def update(self, vcs_ref: str = "HEAD", **data: Any) -> None:
        """`copier update --trust --defaults` to the template at `vcs_ref`, with the answers."""
        run_update(
            self.path,
            data=data,
            defaults=True,
            unsafe=True,
            quiet=True,
            overwrite=True,
            vcs_ref=vcs_ref,
        )

    def run(
        self, *command: str, check: bool = True, timeout: float = 600, env: dict | None = None
    ) -> str:
        """Run a command in the project (`env` adds variables); on failure, show its output."""
        return run_command(
            command, self.path, {**self.env(), **(env or {})}, check=check, timeout=timeout
        )

    def make(self, *targets: str, check: bool = True, **variables: str) -> str:
        assignments = [f"{name}={value}" for name, value in variables.items()]
        return self.run("make", *targets, *assignments, check=check)

    @property
    def package(self) -> str:
        return self.answers["package_name"]

    def workspace(self, path: Path) -> Workspace:
        """A scratch folder to run the project's jobs in, with an MLflow store of its own."""
        path.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.empty_store(), path / "mlflow.db")
        return Workspace(self, path)

    def copy(self, path: Path) -> Project:
        """A copy of the project, its records and git history included, for a check that
        changes what it runs on. The copy runs on the project's own environment: its .venv
        is a link to the project's, which uv uses as it is (UV_NO_SYNC)."""
        shutil.copytree(self.path, path, symlinks=True, ignore=shutil.ignore_patterns(".venv"))
        (path / ".venv").symlink_to(self.path / ".venv", target_is_directory=True)
        if (path / ".git").is_dir():  # `.venv/` in .gitignore matches no link: keep it out
            with (path / ".git" / "info" / "exclude").open("a", encoding="utf-8") as exclude:
                exclude.write("/.venv\n")
        return CopiedProject(path, self.interpreter)

    def empty_store(self) -> Path:
        """An MLflow SQLite store with its tables created (seconds of migrations), kept aside."""
        store = self.path.parent / "empty-mlflow.db"
        if not store.exists():
            self.run(".venv/bin/python", "-c", CREATE_STORE, str(store))
        return store

    def python(self, code: str, *args: str, env: dict[str, str] | None = None) -> Any:
        """Run `code` with the project's interpreter and `args` (`env` adds variables); it
        prints one JSON value."""
        result = subprocess.run(
            [".venv/bin/python", "-c", code, *args],
            cwd=self.path,
            env={**self.env(), **(env or {})},
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    def git_commit_all(self, message: str) -> None:
        if not (self.path / ".git").exists():
            self.run("git", "init", "--quiet", "--initial-branch=main")
        self.run("git", "add", "--all")
        self.run("git", "commit", "--quiet", "--no-verify", "-m", message)

    def serving(self, env: dict[str, str] | None = None) -> AbstractContextManager[str]:
        """`make serve` on a free loopback port (`env` adds variables); yields its base URL."""
        return serve(["make", "serve"], self.path, {**self.env(), **(env or {})})

    def files(self) -> set[str]:
        """Every file below the project, relative, ignoring tool and runtime output."""
        skip = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache"}
        return {
            path.relative_to(self.path).as_posix()
            for path in self.path.rglob("*")
            if path.is_file() and not skip.intersection(path.relative_to(self.path).parts)
        }


class CopiedProject(Project):
    """A copy of a project (Project.copy), run on the original's environment."""

    def env(self) -> dict[str, str]:
        return {**super().env(), "UV_NO_SYNC": "1"}


@dataclass
class Workspace:
    """A scratch folder where the project's command runs apart from the project's own files.

    The jobs write their MLflow store, data/prepared/ and outputs/ relative to the folder
    they run in, so a workspace shares nothing with the project folder or another
    workspace. With `source=True` the package is imported from a copy of src/ inside the
    workspace, which a check may edit without touching the project.
    """

    project: Project
    path: Path

    def copy_source(self) -> Path:
        """Copy the project's src/ into the workspace; its package then shadows the project's."""
        shutil.copytree(self.project.path / "src", self.path / "src", dirs_exist_ok=True)
        return self.path / "src" / self.project.package

    def env(self) -> dict[str, str]:
        env = self.project.env()
        if (self.path / "src").is_dir():
            env["PYTHONPATH"] = str(self.path / "src")
        return env

    def job(self, *args: str, params: Path | None = None, check: bool = True) -> str:
        """`<package> --params <params> <args>`, run in the workspace."""
        params = params or self.project.path / "params.yaml"
        command = ["-m", self.project.package, "--params", str(params), *args]
        return self.python(*command, check=check)

    def serving(self) -> AbstractContextManager[str]:
        """`<package> serve` from the workspace on a free loopback port; yields its URL."""
        python = str(self.project.path / ".venv" / "bin" / "python")
        params = str(self.project.path / "params.yaml")
        command = [python, "-m", self.project.package, "--params", params, "serve"]
        return serve(command, self.path, self.env())

    def python(self, *args: str, check: bool = True) -> str:
        python = str(self.project.path / ".venv" / "bin" / "python")
        return run_command((python, *args), self.path, self.env(), check=check)


def run_command(
    command: tuple[str, ...], cwd: Path, env: dict[str, str], check: bool, timeout: float = 600
) -> str:
    """Run a command, its output captured; on failure, show it. A command still running
    after `timeout` seconds is stopped with everything it started (its process group:
    a `make test` leaves no pytest behind to slow the tests that follow), and the error
    shows the end of what it printed, so a hang names where it hung."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        raise AssertionError(
            f"`{' '.join(command)}` was still running after {timeout:.0f} s in {cwd}; stopped.\n"
            f"--- end of stdout ---\n{stdout[-6000:]}\n--- end of stderr ---\n{stderr[-6000:]}"
        ) from None
    finally:
        with suppress(ProcessLookupError):  # what it left running in the background
            os.killpg(process.pid, signal.SIGKILL)
    if check and process.returncode != 0:
        raise AssertionError(
            f"`{' '.join(command)}` exited {process.returncode} in {cwd}\n"
            f"--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
        )
    return stdout + stderr


@contextmanager
def serve(command: list[str], cwd: Path, env: dict[str, str], timeout: float = 60) -> Iterator[str]:
    """Run a service command on a free loopback port; yield its base URL, then stop it."""
    port = free_port()
    server = subprocess.Popen(
        command,
        cwd=cwd,
        env={**env, "HOST": "127.0.0.1", "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while get_json(f"{url}/health")[0] != 200:
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{' '.join(command)} did not start: {server.stderr.read()}")
            time.sleep(0.2)
        yield url
    finally:
        with suppress(ProcessLookupError):  # it may have stopped by itself
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get_json(url: str) -> tuple[int, Any]:
    """GET `url`: (status, decoded body), or (0, None) when nothing listens yet."""
    return _request(urllib.request.Request(url))


def get_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


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
