"""A generated Dockerfile read as data, so its commands can be replayed outside a container.

No Docker engine runs where the suite runs. The checks take the install command (the
`uv sync` of the last RUN that has one), the final stage's ENV and its CMD from the
Dockerfile itself, so what is replayed is what the image would run.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Image:
    install: list[str]  # e.g. ["uv", "sync", "--frozen", "--no-default-groups", ...]
    env: dict[str, str]  # ENV of the final stage
    cmd: list[str]
    healthcheck: list[str] | None
    user: str | None


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments), continuation lines joined and comment lines dropped."""
    found, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and pending):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full, pending = (pending + stripped).strip(), ""
        if full:
            keyword, _, args = full.partition(" ")
            found.append((keyword.upper(), args.strip()))
    return found


def read_image(path: Path) -> Image:
    install: list[str] = []
    env: dict[str, str] = {}
    cmd: list[str] = []
    healthcheck, user = None, None
    for keyword, args in instructions(path.read_text(encoding="utf-8")):
        if keyword == "FROM":
            env, healthcheck, user = {}, None, None  # a new stage starts afresh
        elif keyword == "RUN":
            command = re.sub(r"^(--\S+\s+)*", "", args)  # drop --mount=... flags
            if command.startswith("uv sync"):
                install = shlex.split(command)
        elif keyword == "ENV":
            env.update(word.split("=", 1) for word in shlex.split(args))
        elif keyword == "CMD":
            cmd = json.loads(args)
        elif keyword == "HEALTHCHECK":
            healthcheck = json.loads(args[args.index("CMD") + 3 :].strip())
        elif keyword == "USER":
            user = args
    return Image(install, env, cmd, healthcheck, user)
