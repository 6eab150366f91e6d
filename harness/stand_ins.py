"""Stand-ins for the actions workflows use (`uses:`), and what a stand-in gets.

A stand-in is a function of an ActionCall: it reads the step's `with:` (`call.inputs`),
may run commands in the step's environment (`call.sh`), and writes outputs
(`call.outputs`), PATH entries and variables for the later steps, as the action would;
it fails its step by raising ActionFailed. A test adds its own (a docker build, an
attestation) with `run_workflow(..., stand_ins={"docker/build-push-action": build})`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.project import UV_CACHE, uv

if TYPE_CHECKING:
    from harness.actions import Origin, _Run


class ActionFailed(Exception):
    """Raised by a stand-in to fail its step with a message, as a failing action does."""


@dataclass
class ActionCall:
    """What a stand-in for a `uses:` action gets: its inputs, and the runner's hooks."""

    name: str  # e.g. actions/checkout
    inputs: dict[str, str]  # the step's `with:`, expressions evaluated
    env: dict[str, str]  # the step's process environment
    workspace: Path
    github: dict[str, Any]  # the github context
    run: _Run
    outputs: dict[str, str] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    path_entries: list[str] = field(default_factory=list)
    env_updates: dict[str, str] = field(default_factory=dict)

    def input(self, name: str, default: str = "") -> str:
        value = self.inputs.get(name)
        return default if value is None or value == "" else str(value)

    def add_path(self, directory: str | Path) -> None:
        """As `echo dir >> $GITHUB_PATH` in the action."""
        self.path_entries.append(str(directory))

    def set_env(self, name: str, value: str) -> None:
        """As `echo name=value >> $GITHUB_ENV` in the action."""
        self.env_updates[name] = value

    def sh(self, *command: str, cwd: Path | None = None) -> str:
        """Run a command in the step's environment; a failure fails the step."""
        result = subprocess.run(
            command, cwd=cwd or self.workspace, env=self.env, capture_output=True, text=True
        )
        self.log.append(f"$ {' '.join(command)}\n{result.stdout}{result.stderr}")
        if result.returncode != 0:
            raise ActionFailed(f"`{' '.join(command)}` exited {result.returncode}: {result.stderr}")
        return result.stdout


StandIn = Callable[[ActionCall], None]


def checkout(call: ActionCall) -> None:
    """actions/checkout: a fresh clone of the origin into the workspace (or `path`)."""
    origin = call.run.origin
    if call.input("repository", origin.repository).lower() != origin.repository.lower():
        raise ActionFailed(f"checkout of another repository ({call.input('repository')})")
    target = call.workspace / call.input("path", ".")
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    depth = int(call.input("fetch-depth", "1"))
    call.sh("git", "init", "--quiet", str(target))
    call.sh("git", "remote", "add", "origin", f"file://{origin.path}", cwd=target)
    ref = call.input("ref")
    sha = call.github["sha"] if not ref else ""
    ref = ref or call.github["ref"]
    kind, name, refspec = _ref_kind(origin, ref, sha)
    fetch = ("git", "fetch", "--quiet", "--prune")
    if depth > 0:
        call.sh(*fetch, f"--depth={depth}", "--no-tags", "origin", refspec, cwd=target)
    else:  # the whole history, every branch and tag, then the commit if it is elsewhere
        everything = ("+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*")
        call.sh(*fetch, "--tags", "origin", *everything, cwd=target)
        if kind == "commit" or (sha and not _has(target, sha)):
            call.sh(*fetch, "origin", refspec, cwd=target)
    if kind == "branch":
        start = sha or f"refs/remotes/origin/{name}"
        call.sh("git", "checkout", "--quiet", "--force", "-B", name, start, cwd=target)
        call.sh("git", "branch", "--quiet", f"--set-upstream-to=origin/{name}", name, cwd=target)
    else:
        call.sh("git", "checkout", "--quiet", "--force", "--detach", sha or name, cwd=target)
    if call.input("persist-credentials", "true").lower() != "true":
        # Without the persisted token a push is refused, as it is on GitHub.
        nowhere = call.run.folder / "persist-credentials-false" / "no-token-to-push-with"
        call.sh("git", "config", "remote.origin.pushurl", str(nowhere), cwd=target)
    call.outputs["ref"] = ref
    call.outputs["commit"] = call.sh("git", "rev-parse", "HEAD", cwd=target).strip()


def _has(repository: Path, sha: str) -> bool:
    found = subprocess.run(["git", "-C", str(repository), "cat-file", "-e", f"{sha}^{{commit}}"])
    return found.returncode == 0


def _ref_kind(origin: Origin, ref: str, sha: str) -> tuple[str, str, str]:
    """(branch | tag | commit, name, the refspec to fetch) for a ref as checkout takes it."""
    branches = set(origin.git("for-each-ref", "--format=%(refname:short)", "refs/heads").split())
    tags = set(origin.git("for-each-ref", "--format=%(refname:short)", "refs/tags").split())
    short = ref.removeprefix("refs/heads/").removeprefix("refs/tags/")
    if ref.startswith("refs/tags/") or (not ref.startswith("refs/heads/") and short in tags):
        return "tag", f"refs/tags/{short}", f"+{sha or f'refs/tags/{short}'}:refs/tags/{short}"
    if ref.startswith("refs/heads/") or short in branches:
        return "branch", short, f"+{sha or f'refs/heads/{short}'}:refs/remotes/origin/{short}"
    return "commit", ref, ref


def setup_uv(call: ActionCall) -> None:
    """astral-sh/setup-uv: the suite's uv on PATH, its package cache shared (as
    enable-cache restores one), UV_PYTHON set from `python-version`."""
    call.add_path(Path(uv()).parent)
    call.set_env("UV_CACHE_DIR", str(UV_CACHE))
    version = call.input("python-version")
    if version:
        call.set_env("UV_PYTHON", version)
        interpreter = _python(version)
        if interpreter:
            call.add_path(Path(interpreter).parent)
    call.outputs["uv-path"] = uv()
    call.outputs["cache-hit"] = "true"


def setup_python(call: ActionCall) -> None:
    """actions/setup-python: the machine's interpreter of that version first on PATH."""
    version = call.input("python-version")
    if not version:
        return
    interpreter = _python(version)
    if interpreter is None:
        raise ActionFailed(f"Python {version} is not installed on this machine (pyenv)")
    call.add_path(Path(interpreter).parent)
    call.outputs["python-version"] = version
    call.outputs["python-path"] = interpreter


def _python(version: str) -> str | None:
    from harness.matrix import pythons

    return pythons().get(".".join(version.split(".")[:2]))


def upload_artifact(call: ActionCall) -> None:
    """actions/upload-artifact: the matching files into the run's artifacts folder."""
    name = call.input("name", "artifact")
    target = call.run.folder / "artifacts" / name
    if target.exists() and call.input("overwrite", "false") != "true":
        raise ActionFailed(f"an artifact named {name} already exists in this run")
    patterns = [line.strip() for line in call.input("path").splitlines() if line.strip()]
    files = sorted(
        {found for pattern in patterns for found in call.workspace.glob(pattern) if found.is_file()}
    )
    if not files:
        behaviour = call.input("if-no-files-found", "warn")
        if behaviour == "error":
            raise ActionFailed(f"No files were found with the provided path: {patterns}")
        call.log.append(f"No files were found with the provided path: {patterns}")
        return
    root = Path(os.path.commonpath([file.parent for file in files]))
    for file in files:
        destination = target / file.relative_to(root)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, destination)
    call.outputs["artifact-id"] = name


def download_artifact(call: ActionCall) -> None:
    """actions/download-artifact: one artifact (or each, in a folder of its name)."""
    artifacts = call.run.folder / "artifacts"
    destination = call.workspace / call.input("path", ".")
    name = call.input("name")
    if name:
        if not (artifacts / name).is_dir():
            raise ActionFailed(f"Artifact not found for name: {name}")
        shutil.copytree(artifacts / name, destination, dirs_exist_ok=True)
    elif artifacts.is_dir():
        for folder in sorted(artifacts.iterdir()):
            shutil.copytree(folder, destination / folder.name, dirs_exist_ok=True)
    call.outputs["download-path"] = str(destination)


# Stand-ins by action name (without the pinned version); tests add theirs with stand_ins=.
STAND_INS: dict[str, StandIn] = {
    "actions/checkout": checkout,
    "astral-sh/setup-uv": setup_uv,
    "actions/setup-python": setup_python,
    "actions/upload-artifact": upload_artifact,
    "actions/download-artifact": download_artifact,
}
