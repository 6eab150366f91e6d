"""What doctor knows of a repository: its files, their text, make targets, dependencies.

The walk is defensive, because doctor runs on repositories nobody prepared for it: it
never follows a symbolic link (so a link loop cannot trap it), skips virtual
environments, caches and VCS folders, stops after MAX_FILES files, reads only text files
up to MAX_TEXT bytes, and turns a file it cannot parse into a line in `problems`.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MAX_FILES = 20_000
MAX_TEXT = 1_000_000  # bytes: a bigger file is data, not configuration or code
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "env",
        ".tox",
        ".nox",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".ipynb_checkpoints",
        "site-packages",
        "mlruns",
        "mlartifacts",
        ".cache",
    }
)
# The dependency lists doctor reads besides pyproject.toml.
REQUIREMENTS = re.compile(r"^(requirements[\w.-]*\.(txt|in)|requirements/[\w.-]+\.(txt|in))$")
CONDA_FILES = ("environment.yml", "environment.yaml", "conda.yaml", "conda.yml")
MAKE_TARGET = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_./-]*)\s*:(?!=)", re.MULTILINE)
JUST_RECIPE = re.compile(r"^([A-Za-z0-9_-]+)(?:\s+[^:=\n]*)?:(?!=)", re.MULTILINE)
REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares them: lowercase, runs of -_. as one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob over repository paths: `*` within a folder, `**/` any folders (or none)."""
    out, index = [], 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
        elif pattern.startswith("**", index):
            out.append(".*")
            index += 2
        elif pattern[index] == "*":
            out.append("[^/]*")
            index += 1
        elif pattern[index] == "?":
            out.append("[^/]")
            index += 1
        else:
            out.append(re.escape(pattern[index]))
            index += 1
    return re.compile("".join(out) + r"\Z")


@dataclass
class Repository:
    """A repository as doctor sees it; build it with `Repository.scan(path)`."""

    root: Path
    files: list[str] = field(default_factory=list)  # posix paths from the root, sorted
    problems: list[str] = field(default_factory=list)  # what doctor could not read, and why
    _texts: dict[str, str | None] = field(default_factory=dict, repr=False)

    @classmethod
    def scan(cls, root: Path) -> Repository:
        repo = cls(Path(root))
        repo.files = sorted(repo._walk())
        repo._check_parsable()
        return repo

    def _walk(self) -> Iterator[str]:
        count = 0
        for folder, dirs, names in os.walk(self.root, onerror=self._unreadable):
            here = Path(folder)
            for name in list(dirs):
                if name in SKIPPED_DIRS or (here / name).is_symlink():
                    dirs.remove(name)
            dirs.sort()
            for name in sorted(names):
                path = here / name
                if path.is_symlink() and not path.is_file():
                    continue  # a dangling link or a link to a folder: nothing to read
                if count == MAX_FILES:
                    self.problems.append(
                        f"more than {MAX_FILES} files: doctor looked at the first {MAX_FILES} "
                        "(virtual environments, caches and .git are skipped already); "
                        "run it on the project's folder, not a parent of many"
                    )
                    return
                count += 1
                yield path.relative_to(self.root).as_posix()

    def _unreadable(self, error: OSError) -> None:
        self.problems.append(f"cannot read {error.filename}: {error.strerror}")

    def _check_parsable(self) -> None:
        for path in self.matching(".github/workflows/*.y*ml", ".gitlab-ci.yml", *CONDA_FILES):
            text = self.text(path)
            if text is None:
                continue
            try:
                yaml.safe_load(text)
            except yaml.YAMLError as error:
                mark = getattr(error, "problem_mark", None)
                where = f" (line {mark.line + 1})" if mark else ""
                self.problems.append(
                    f"{path} is not valid YAML{where}: doctor searched its text but its "
                    "jobs will not run; check it with `check-jsonschema --builtin-schema "
                    "vendor.github-workflows`"
                )
        if "pyproject.toml" in self.files and self.pyproject is None:
            self.problems.append("pyproject.toml is not valid TOML: its dependencies were not read")

    # --- Reading ---------------------------------------------------------------------

    def matching(self, *patterns: str) -> list[str]:
        regexes = [glob_regex(pattern) for pattern in patterns]
        return [path for path in self.files if any(regex.match(path) for regex in regexes)]

    def text(self, path: str) -> str | None:
        """The file's text, or None for a binary, huge or unreadable file."""
        if path not in self._texts:
            self._texts[path] = self._read(path)
        return self._texts[path]

    def _read(self, path: str) -> str | None:
        full = self.root / path
        try:
            if full.stat().st_size > MAX_TEXT:
                return None
            data = full.read_bytes()
        except OSError:
            return None
        if b"\0" in data[:8192]:
            return None
        return data.decode("utf-8", errors="replace")

    def search(self, pattern: str, regex: str) -> list[str]:
        """The files matching the glob whose text the regex finds something in."""
        compiled = re.compile(regex, re.MULTILINE)
        return [
            path
            for path in self.matching(pattern)
            if (text := self.text(path)) is not None and compiled.search(text)
        ]

    @cached_property
    def pyproject(self) -> dict | None:
        text = self.text("pyproject.toml") if "pyproject.toml" in self.files else None
        if text is None:
            return None
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return None

    # --- What the repository declares ------------------------------------------------

    @cached_property
    def make_targets(self) -> set[str]:
        targets: set[str] = set()
        for path in self.matching("Makefile", "makefile", "GNUmakefile", "*.mk"):
            targets.update(MAKE_TARGET.findall(self.text(path) or ""))
        for path in self.matching("justfile", "Justfile"):
            targets.update(JUST_RECIPE.findall(self.text(path) or ""))
        return {target for target in targets if not target.startswith(".")}

    @cached_property
    def dependencies(self) -> set[str]:
        """Every distribution named in pyproject.toml (any group or extra), requirements
        files and conda environment files, PEP 503-normalised."""
        return {normalize(name) for name in self._dependency_names()}

    def _dependency_names(self) -> Iterator[str]:
        project = self.pyproject or {}
        yield from _names(project.get("project", {}).get("dependencies", []))
        for extra in project.get("project", {}).get("optional-dependencies", {}).values():
            yield from _names(extra)
        for group in project.get("dependency-groups", {}).values():
            yield from _names(item for item in group if isinstance(item, str))
        poetry = project.get("tool", {}).get("poetry", {})
        yield from poetry.get("dependencies", {})
        for group in poetry.get("group", {}).values():
            yield from group.get("dependencies", {})
        for path in self.files:
            if REQUIREMENTS.match(path):
                yield from _names(self.text(path) or "")
        for path in self.matching(*CONDA_FILES):
            yield from self._conda_names(path)

    def _conda_names(self, path: str) -> Iterator[str]:
        try:
            spec = yaml.safe_load(self.text(path) or "") or {}
        except yaml.YAMLError:
            return
        for item in spec.get("dependencies", []) if isinstance(spec, dict) else []:
            if isinstance(item, str):
                yield from _names([item.split("=")[0]])
            elif isinstance(item, dict):
                yield from _names(item.get("pip", []))


def _names(requirements: Iterable[str] | str) -> Iterator[str]:
    lines = requirements.splitlines() if isinstance(requirements, str) else requirements
    for line in lines:
        if not isinstance(line, str) or line.lstrip().startswith(("#", "-")):
            continue
        match = REQUIREMENT_NAME.match(line)
        if match:
            yield match.group(1)
