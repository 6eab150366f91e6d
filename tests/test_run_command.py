"""harness.project.run_command: a command that overruns its time is stopped with all it
started, and the error shows where it was; one that fails shows its output."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from harness.project import run_command

# Starts a helper in the background, says where it is, then hangs.
HANGS = """
sleep 300 &
echo $! > helper.pid
echo "reached the third test"
sleep 300
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:  # a zombie is not running
        return stat.read().split(") ")[1][0] != "Z"


def test_an_overrunning_command_is_stopped_with_what_it_started(tmp_path: Path):
    started = time.monotonic()
    with pytest.raises(AssertionError) as refusal:
        run_command(("bash", "-c", HANGS), tmp_path, dict(os.environ), check=True, timeout=2)
    assert time.monotonic() - started < 30
    message = str(refusal.value)
    assert "still running after 2 s" in message and "reached the third test" in message
    helper = int((tmp_path / "helper.pid").read_text())
    deadline = time.monotonic() + 5
    while alive(helper) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(helper), "the command's background helper outlived it"


def test_a_failing_command_shows_its_output(tmp_path: Path):
    failing = ("bash", "-c", "echo 'the gate refused'; exit 3")
    with pytest.raises(AssertionError, match=r"(?s)exited 3 .*the gate refused"):
        run_command(failing, tmp_path, dict(os.environ), check=True)
    assert "the gate refused" in run_command(failing, tmp_path, dict(os.environ), check=False)
