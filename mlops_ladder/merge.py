"""What `adopt` merges into a file the team has: only additions a machine can make safely.

Into `pyproject.toml` go the template's dependencies, dependency groups and scripts that
the team's file does not name; into the `Makefile`, the template's targets that the
team's file lacks, with the variables they use that it does not set. Nothing of the
team's is changed or removed: a dependency the team already names keeps its version, a
target the team has keeps its recipe, and a file either cannot parse is left as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import Array, Table

from mlops_ladder.repository import REQUIREMENT_NAME, normalize

MERGEABLE = ("pyproject.toml", "Makefile")


@dataclass
class Merged:
    """A file of the team's with the template's additions, and what they were."""

    text: str
    added: list[str] = field(default_factory=list)  # e.g. "dependencies mlflow>=3.17,<4"


def merge(name: str, ours: str, template: str) -> Merged:
    """The team's file `name` with what can be added from the template's version."""
    if name == "pyproject.toml":
        return merge_pyproject(ours, template)
    if name == "Makefile":
        return merge_makefile(ours, template)
    return Merged(ours)


# --- pyproject.toml ----------------------------------------------------------------------


def _name(requirement: object) -> str | None:
    match = REQUIREMENT_NAME.match(requirement) if isinstance(requirement, str) else None
    return normalize(match.group(1)) if match else None


def _append(array: Array, items: list[str]) -> None:
    """Append to a TOML array: one item a line, indented as its items are, when the array
    is laid out a line an item; else on its line."""
    laid_out = array.as_string()
    if "\n" not in laid_out:
        array.extend(items)
        return
    indent = re.search(r"\n([ \t]*)\S", laid_out)
    for item in items:
        array.add_line(item, indent=indent.group(1) if indent else "    ")


def _fresh_array(items: list[str]) -> Array:
    array = tomlkit.array()
    for item in items:
        array.add_line(item, indent="    ")
    array.add_line(indent="")
    return array


def merge_pyproject(ours: str, template: str) -> Merged:
    try:
        document, theirs = tomlkit.parse(ours), tomlkit.parse(template).unwrap()
    except TOMLKitError:
        return Merged(ours)  # not valid TOML: nothing can be merged safely
    project = document.get("project")
    if not isinstance(project, Table):
        return Merged(ours)  # no [project] table (Poetry, say): adding one changes the build
    groups = document.get("dependency-groups")
    named = {_name(item) for item in project.get("dependencies", [])}
    named |= {
        _name(item) for extra in project.get("optional-dependencies", {}).values() for item in extra
    }
    if isinstance(groups, Table):
        named |= {_name(item) for group in groups.values() for item in group}
    added: list[str] = []

    wanted = [
        item
        for item in theirs.get("project", {}).get("dependencies", [])
        if _name(item) not in named
    ]
    if wanted:
        if isinstance(project.get("dependencies"), Array):
            _append(project["dependencies"], wanted)
        else:
            project["dependencies"] = _fresh_array(wanted)
        added.append("dependencies " + ", ".join(wanted))
        named |= {_name(item) for item in wanted}

    for group, items in theirs.get("dependency-groups", {}).items():
        wanted = [item for item in items if isinstance(item, str) and _name(item) not in named]
        if not wanted:
            continue
        if not isinstance(groups, Table):
            groups = document["dependency-groups"] = tomlkit.table()
        if isinstance(groups.get(group), Array):
            _append(groups[group], wanted)
        else:
            groups[group] = _fresh_array(wanted)
        added.append(f"dependency group {group}: " + ", ".join(wanted))
        named |= {_name(item) for item in wanted}

    scripts = theirs.get("project", {}).get("scripts", {})
    wanted_scripts = {
        name: target for name, target in scripts.items() if name not in project.get("scripts", {})
    }
    if wanted_scripts:
        if "scripts" not in project:
            project["scripts"] = tomlkit.table()
            project["scripts"].update(wanted_scripts)
            project["scripts"].add(tomlkit.nl())
        else:
            project["scripts"].update(wanted_scripts)
        added.append("scripts " + ", ".join(wanted_scripts))
    return Merged(tomlkit.dumps(document), added) if added else Merged(ours)


# --- Makefile ----------------------------------------------------------------------------

ASSIGNMENT = re.compile(
    r"^(?:override\s+|export\s+)?([A-Za-z_.][A-Za-z0-9_.]*)\s*(?:\?|::?|\+|!)?="
)
DEFINE = re.compile(r"^define\s+([A-Za-z_][A-Za-z0-9_]*)")
PHONY = re.compile(r"^\.PHONY\s*:(.*)$")
TARGET_VARIABLE = re.compile(
    r"^([A-Za-z0-9_./-]+)\s*:\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*[?:+]?="
)
RULE = re.compile(r"^([A-Za-z0-9_./-]+(?:\s+[A-Za-z0-9_./-]+)*)\s*:(?![:=])")
# The template's make variables a team's Makefile keeps its own way.
NEVER_ADDED = frozenset({".DEFAULT_GOAL"})


@dataclass
class Block:
    """One statement of a Makefile, with the comment lines above it."""

    kind: str  # "variable", "rule", "phony", "target-variable" or "other"
    names: tuple[str, ...]
    lines: list[str]


def _statements(text: str) -> list[Block]:
    blocks: list[Block] = []
    comment: list[str] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            comment = []
            index += 1
            continue
        if line.startswith("#"):
            comment.append(line)
            index += 1
            continue
        start = index
        if DEFINE.match(line):
            while index < len(lines) and lines[index].strip() != "endef":
                index += 1
        elif (
            RULE.match(line)
            and not ASSIGNMENT.match(line)
            and not PHONY.match(line)
            and not TARGET_VARIABLE.match(line)
        ):
            while index + 1 < len(lines) and (
                lines[index + 1].startswith("\t") or lines[index].endswith("\\")
            ):
                index += 1
        else:
            while index + 1 < len(lines) and lines[index].endswith("\\"):
                index += 1
        body = lines[start : index + 1]
        index += 1
        blocks.append(Block(*_classify(line), comment + body))
        comment = []
    return blocks


def _classify(line: str) -> tuple[str, tuple[str, ...]]:
    if match := DEFINE.match(line):
        return "variable", (match.group(1),)
    if match := PHONY.match(line):
        return "phony", tuple(match.group(1).split())
    if match := TARGET_VARIABLE.match(line):
        return "target-variable", (match.group(1),)
    if match := ASSIGNMENT.match(line):
        return "variable", (match.group(1),)
    if match := RULE.match(line):
        return "rule", tuple(match.group(1).split())
    return "other", ()


def merge_makefile(ours: str, template: str) -> Merged:
    mine = _statements(ours)
    targets = {name for block in mine if block.kind == "rule" for name in block.names}
    variables = {name for block in mine if block.kind == "variable" for name in block.names}
    theirs = _statements(template)
    new_targets = [
        name
        for block in theirs
        if block.kind == "rule" and not targets & set(block.names)
        for name in block.names
    ]
    if not new_targets:
        return Merged(ours)
    wanted = set(new_targets)
    kept: list[Block] = []
    for block in theirs:
        if block.kind == "variable":
            keep = not variables & set(block.names) and not NEVER_ADDED & set(block.names)
        elif block.kind in {"rule", "target-variable"}:
            keep = set(block.names) <= wanted
        elif block.kind == "phony":
            names = [name for name in block.names if name in wanted]
            keep = bool(names)
            block = Block("phony", tuple(names), [f".PHONY: {' '.join(names)}"])
        else:
            keep = False
        if keep:
            kept.append(block)
    new_variables = [name for block in kept if block.kind == "variable" for name in block.names]
    lines = [
        "# Added by `mlops-ladder adopt`: the ladder's jobs this Makefile lacked"
        + (", and the variables they use." if new_variables else ".")
    ]
    previous = "variable"
    for block in kept:
        after_phony = block.kind == "rule" and previous == "phony"
        if (
            block.lines[0].startswith("#")
            or block.kind == "phony"
            or (block.kind == "rule" and not after_phony)
        ):
            lines.append("")
        lines += block.lines
        previous = block.kind
    added = ["targets " + ", ".join(new_targets)]
    if new_variables:
        added.append("variables " + ", ".join(new_variables))
    return Merged(ours.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n", added)
