"""A newcomer's first hour, as the READMEs tell it, on a fresh clone of the template.

The machine is a new user's: an empty HOME, no uv on PATH (only Python, pip, git and
make), the template cloned from this checkout's last commit. Every command is the one
the template's README or a generated README prints, run the way a user runs it. Each
step's time is printed (`pytest -s` shows them), and all of them after the last test.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from harness.matrix import ROOT
from harness.project import LEAKY, UV_CACHE, free_port

pytestmark = pytest.mark.slow

# A user's git identity, for the commits the generated READMEs ask for; the template's
# own demo targets commit without one.
IDENTITY = {
    "GIT_AUTHOR_NAME": "Ana Lopez",
    "GIT_AUTHOR_EMAIL": "ana@example.com",
    "GIT_COMMITTER_NAME": "Ana Lopez",
    "GIT_COMMITTER_EMAIL": "ana@example.com",
}
TIMES: dict[str, float] = {}
SUITE_ONLY = {*LEAKY, "UV", "UV_CACHE_DIR", "UV_PYTHON", "VIRTUAL_ENV", "PYTHONPATH"}


def without_uv(path: str) -> str:
    """PATH minus every folder with a uv or uvx in it, and minus the suite's own venv."""
    venv = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin"
    kept = [
        folder
        for folder in path.split(os.pathsep)
        if folder
        and Path(folder) != venv
        and not any((Path(folder) / tool).exists() for tool in ("uv", "uvx"))
    ]
    return os.pathsep.join(kept)


@pytest.fixture(scope="module")
def machine(tmp_path_factory) -> dict[str, str]:
    """A new user's environment: empty HOME, no uv on PATH, the shared uv cache."""
    home = tmp_path_factory.mktemp("home")
    # The machine's settings (certificates, proxies, pip's index) stay; what comes from
    # the suite's own environment or names its uv goes.
    env = {key: value for key, value in os.environ.items() if key not in SUITE_ONLY}
    env.update(
        HOME=str(home),
        PATH=without_uv(os.environ["PATH"]),
        UV_CACHE_DIR=str(UV_CACHE),  # one cache for the whole suite, so installs are seconds
        MLFLOW_DISABLE_TELEMETRY="true",
        DVC_NO_ANALYTICS="1",
        DO_NOT_TRACK="1",
    )
    assert shutil.which("uv", path=env["PATH"]) is None
    return env


@pytest.fixture(scope="module")
def clone(tmp_path_factory, machine) -> Path:
    """The template as a user gets it: `git clone` of this checkout's last commit."""
    path = tmp_path_factory.mktemp("newcomer") / "mlops-ladder"
    step("git clone", ["git", "clone", "--quiet", str(ROOT), str(path)], ROOT, machine)
    return path


def step(name: str, command: list[str] | str, cwd: Path, env: dict[str, str], **kwargs) -> str:
    """Run one step of the journey (a string runs as a shell line), time it, return its
    output; on failure show it."""
    argv = ["sh", "-e", "-c", command] if isinstance(command, str) else command
    start = time.monotonic()
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, **kwargs)
    record(name, start)
    assert result.returncode == 0, (
        f"{name}: `{command}` exited {result.returncode} in {cwd}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )
    return result.stdout + result.stderr


def record(name: str, start: float) -> None:
    TIMES[name] = time.monotonic() - start
    print(f"[newcomer] {name}: {TIMES[name]:.1f} s")


def refused(command: list[str], cwd: Path, env: dict[str, str]) -> list[str]:
    """Run a command that must fail; its stderr's lines without make's own last line."""
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode != 0, result.stdout + result.stderr
    return [line for line in result.stderr.splitlines() if not line.startswith("make: ***")]


def readme_block(readme: Path, heading: str) -> list[str]:
    """The command lines of the first bash block under a README heading, verbatim."""
    section = readme.read_text(encoding="utf-8").split(f"## {heading}\n", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block, heading
    return block.group(1).splitlines()


def answers(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))


# Bad answers to `make demo`: copier's traceback is gone, its last line is all there is.
BAD = {
    "mlops_level=three": "mlops_level three does not exist; choose 1 (Scripted), "
    "2 (Automated), 3 (Governed) or 4 (Self-optimising)",
    "mlops_level=0": "mlops_level 0 does not exist; choose 1 (Scripted), 2 (Automated), "
    "3 (Governed) or 4 (Self-optimising)",
    "package_name=class": "package_name 'class' is a Python keyword; choose another, "
    "e.g. class_model",
    "author_email=team@localhost": "author_email 'team@localhost' is not an e-mail address; "
    "use the form name@example.com",
    "serving=streaming": "Invalid choice for 'serving': 'streaming' is not in ['batch', 'online']",
}


class TestNewcomerJourney:
    """One worker walks the whole journey (about six minutes), so it starts with the
    level-4 projects, not after them (see the sort by `weight` in conftest.py)."""

    weight = 8

    def test_the_demo_is_browsed_stopped_and_climbs(self, clone, machine):
        """README: `make demo`, then `make -C demo ui`; then `make demo-climb`."""
        shown = step("make demo", ["make", "demo"], clone, machine, timeout=900)
        assert "browse it with: make -C demo ui" in shown
        demo = clone / "demo"
        assert answers(demo)["_src_path"] == str(clone), "a source copier update can read"
        assert re.fullmatch(r"[0-9a-f]{7,40}", str(answers(demo)["_commit"]))
        assert step("demo is committed", ["git", "status", "--porcelain"], demo, machine) == ""

        # `make -C demo ui` with no uv anywhere: the demo installs its own, then serves; a
        # SIGTERM to make alone stops everything it started.
        port = free_port()
        command = ["make", "-C", "demo", "ui", f"UI_PORT={port}"]
        run_then_stop("make -C demo ui", command, clone, machine, port, terminate_make)
        assert (demo / ".tools" / "bin" / "uv").is_file(), "the demo's own uv, in .tools/"

        shown = step("make demo-climb", ["make", "demo-climb"], clone, machine, timeout=900)
        assert "is now at MLOps level 2 (Automated)" in shown
        assert "Registered version 1 of demo as champion" in shown
        assert answers(demo)["mlops_level"] == 2
        assert step("demo-climb commits", ["git", "status", "--porcelain"], demo, machine) == ""

    def test_a_level_3_project_gets_going_previews_and_climbs_to_level_4(
        self, clone, machine, tmp_path_factory
    ):
        """The generated README's commands, verbatim: "Get going" at level 3, then "Moving up
        a level" to level 4 and straight to `make test`."""
        step("make dev", ["make", "dev"], clone, machine, timeout=900)
        # The user installed copier to render the project; the clone's dev environment has it.
        tools = tmp_path_factory.mktemp("user-bin")
        (tools / "copier").symlink_to(clone / ".venv" / "bin" / "copier")
        env = {**machine, **IDENTITY, "PATH": f"{tools}{os.pathsep}{machine['PATH']}"}
        project = tmp_path_factory.mktemp("projects") / "clinic"
        shown = step(
            "copier copy at level 3",
            [
                "copier",
                "copy",
                "--trust",
                "--defaults",
                "--data",
                "mlops_level=3",
                "--data",
                "serving=online",
                str(clone),
                str(project),
            ],
            project.parent,
            env,
        )
        assert "git add --all && git commit" in shown, "the commit lineage names, before repro"

        # Before git init and the first commit, the preview shows level 4 from the work tree.
        before = step(
            "make preview-level before the first commit",
            ["make", "preview-level", "LEVEL=4"],
            project,
            env,
        )
        assert "Level 4 adds (A) and changes (M) these files:" in before
        assert re.search(r"^  A +\.github/workflows/retrain\.yml$", before, re.MULTILINE)
        assert re.search(r"^  mlops_level: 4$", before, re.MULTILINE)
        assert not (project / ".git").exists() and not (project / ".preview").exists()

        readme = project / "README.md"
        get_going = readme_block(readme, "Get going")
        assert get_going[-1].startswith("make ui "), "make ui runs until stopped: the demo's test"
        for line in get_going[:-1]:
            step(f"L3 get going: {line.split('#')[0].strip()}", line, project, env, timeout=900)
        commit = step("git rev-parse", ["git", "rev-parse", "HEAD"], project, env).strip()
        cards = list((project / "reports" / "model_cards").glob("*-v1.md"))
        assert len(cards) == 1 and commit in cards[0].read_text(encoding="utf-8")

        # The champion served (README: `make serve`); Ctrl-C stops the service and make.
        command = ["make", "serve"]
        run_then_stop("make serve", command, project, env, free_port(), press_ctrl_c)

        climb = readme_block(readme, "Moving up a level")
        assert climb[0] == "make preview-level LEVEL=4" and climb[-1] == "make test"
        for line in climb:
            shown = step(f"L3 to L4: {line.split('#')[0].strip()}", line, project, env, timeout=900)
            if line.startswith("make preview-level"):
                assert "Level 4 adds (A) and changes (M) these files:" in shown
            if line.startswith("copier update"):
                assert "is now at MLOps level 4 (Self-optimising)" in shown
        assert answers(project)["mlops_level"] == 4
        assert " passed" in shown and "failed" not in shown

        # At the top level a downgrade's last line names the level to keep, and nothing more.
        step("commit the climb", "git add --all && git commit --quiet -m 'Level 4'", project, env)
        lines = refused(
            ["copier", "update", "--trust", "--defaults", "--data", "mlops_level=3"], project, env
        )
        assert lines[-1] == (
            "ValueError: Validation error for question 'mlops_level': mlops_level cannot go "
            "down from 4 to 3: the update would delete level 4's files, edited or not. "
            "Keep mlops_level=4"
        )

    def test_each_bad_answer_shows_one_message_and_writes_nothing(self, clone, machine):
        step("make dev", ["make", "dev"], clone, machine, timeout=900)
        start = time.monotonic()
        for answer, message in BAD.items():
            extra = ["mlops_level=2"] if answer.startswith("serving") else []
            command = ["make", "demo", "DEMO=refused", f"ANSWERS={' '.join([*extra, answer])}"]
            lines = refused(command, clone, machine)
            question = answer.split("=")[0]
            if question == "serving":
                assert lines == [message]
            else:
                assert lines == [f"Validation error for question '{question}': {message}"]
            assert not (clone / "refused").exists()
        record(f"{len(BAD)} bad answers to make demo", start)
        print("[newcomer] steps so far: " + ", ".join(f"{k} {v:.0f} s" for k, v in TIMES.items()))


def terminate_make(make: subprocess.Popen) -> None:
    """`kill <make's pid>`: SIGTERM to make alone."""
    os.kill(make.pid, signal.SIGTERM)


def press_ctrl_c(make: subprocess.Popen) -> None:
    """Ctrl-C in a terminal: SIGINT to every process of the foreground group."""
    os.killpg(make.pid, signal.SIGINT)


def run_then_stop(name, command, cwd, env, port, stop) -> None:
    """Start a make target that serves on `port`, wait until /health answers, stop it with
    `stop`; make must exit and leave no process of its group and nothing on the port."""
    start = time.monotonic()
    make = subprocess.Popen(
        command,
        cwd=cwd,
        env={**env, "HOST": "127.0.0.1", "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    url = f"http://127.0.0.1:{port}/health"
    try:
        while not answers_http(url):
            assert make.poll() is None, make.stderr.read()
            assert time.monotonic() - start < 300, f"{name} did not answer in 5 minutes"
            time.sleep(0.5)
        record(f"{name} answers HTTP", start)
        stopped = time.monotonic()
        stop(make)
        make.wait(timeout=60)
        record(f"{name} stops ({stop.__name__})", stopped)
        assert leftovers(make.pid) == [], f"processes outlived {name}"
        assert not answers_http(url)
    finally:
        if leftovers(make.pid):
            os.killpg(make.pid, signal.SIGKILL)


def answers_http(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def leftovers(group: int) -> list[str]:
    """The live processes of a process group (make's, started in a session of its own),
    read from /proc: `ps` is not on every machine. Zombies are dead already."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # it ended while we looked
            continue
        state, _parent, pgid = text.rsplit(")", 1)[1].split()[:3]
        if int(pgid) == group and state != "Z":
            found.append(f"{stat.parent.name} {command.strip()}")
    return found
