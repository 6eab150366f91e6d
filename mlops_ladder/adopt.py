"""`mlops-ladder adopt`: put an existing repository on the ladder.

It renders the level with copier into a scratch folder, copies in every file the
repository does not have, merges into the team's `pyproject.toml` and `Makefile` what can
be added without changing anything of theirs (dependencies, targets: see merge.py), lists
every file it kept with the lines the template's version still has (for the team to merge
by hand), and writes the answers file, with those files as `kept_files`, so that `copier
update` climbs later without touching them. It ends with doctor's report. A dirty
repository is refused, as copier refuses one.
"""

from __future__ import annotations

import argparse
import difflib
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from mlops_ladder import doctor
from mlops_ladder._ladder import TEMPLATE_ROOT, ladder
from mlops_ladder.merge import MERGEABLE, merge
from mlops_ladder.render import print_table

ANSWERS = ".copier-answers.yml"


@dataclass(frozen=True)
class Kept:
    """A file the repository has and the template renders too: the repository's stays."""

    path: str
    adds: list[str]  # the lines the template's version has and the repository's lacks
    merged: list[str] = field(default_factory=list)  # what adopt added to it, in words


def git(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True)


def check_repository(path: Path) -> dict[str, Any] | None:
    """Refuse what adopt cannot work on; return the answers of a repository it adopted."""
    if not path.is_dir():
        raise doctor.UnusableInput(f"{path} is not a folder; give the path of a git repository")
    top = git(path, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise doctor.UnusableInput(
            f"{path} is not a git repository; run `git init` and commit its files first, "
            "so that every change adopt makes shows in `git status`"
        )
    dirty = git(path, "status", "--porcelain", "--untracked-files=all").stdout.rstrip()
    if dirty:
        raise doctor.UnusableInput(
            f"{path} has uncommitted changes; commit or stash them first (copier refuses a "
            "dirty repository too):\n" + dirty
        )
    if not (path / ANSWERS).exists():
        return None
    try:
        recorded = yaml.safe_load((path / ANSWERS).read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise doctor.UnusableInput(f"{path / ANSWERS} is not valid YAML ({error})") from None
    if not isinstance(recorded, dict) or not isinstance(recorded.get("kept_files"), list):
        raise doctor.UnusableInput(
            f"{path} already has {ANSWERS}: it is on a template already; move up a level "
            "with `copier update --trust --defaults --data mlops_level=N`"
        )
    if not recorded.get("_src_path") or recorded.get("mlops_level") not in ladder.LEVELS:
        raise doctor.UnusableInput(
            f"{path / ANSWERS} lacks _src_path or a valid mlops_level; restore the file "
            "adopt wrote (git checkout -- .copier-answers.yml)"
        )
    return recorded


def template_source(given: str | None) -> str:
    if given:
        return given
    if git(TEMPLATE_ROOT, "rev-parse", "--git-dir").returncode == 0:
        return str(TEMPLATE_ROOT)
    raise doctor.UnusableInput(
        "give the template's source with --template (e.g. gh:<owner>/mlops-ladder): copier "
        "records it so that `copier update` can climb later"
    )


def default_level(path: Path) -> int:
    """The level doctor finds (at least 1), or the recommendation when it is higher."""
    report = doctor.examine(path)
    recommended = (report["recommendation"] or {}).get("level", ladder.MIN_LEVEL)
    return max(report["level"], recommended, ladder.MIN_LEVEL)


def project_name(path: Path) -> str:
    words = re.split(r"[^A-Za-z0-9]+", path.resolve().name)
    return " ".join(word.capitalize() for word in words if word) or "Project"


def parse_data(pairs: list[str]) -> dict[str, Any]:
    data = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise doctor.UnusableInput(f"--data {pair!r} is not NAME=VALUE, e.g. serving=online")
        data[name] = value
    return data


def render(
    source: str, level: int, data: dict[str, Any], into: Path, vcs_ref: str = "HEAD"
) -> None:
    from copier import run_copy

    run_copy(
        source,
        into,
        data={"mlops_level": level, **data},
        defaults=True,
        unsafe=True,
        quiet=True,
        vcs_ref=vcs_ref,
    )


def rendered_files(folder: Path) -> list[str]:
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(folder).parts
    )


def additions(ours: Path, theirs: Path) -> list[str]:
    """The lines of the template's version that the repository's version lacks."""
    try:
        mine = ours.read_text(encoding="utf-8").splitlines()
        template = theirs.read_text(encoding="utf-8").splitlines()
    except (UnicodeDecodeError, OSError):
        return ["(not a text file)"]
    diff = difflib.unified_diff(mine, template, lineterm="", n=0)
    return [line[1:] for line in diff if line.startswith("+") and not line.startswith("+++")]


def adopt(
    path: Path, level: int, source: str, data: dict[str, Any]
) -> tuple[list[str], list[Kept]]:
    """Copy in the level's files the repository lacks, merge what can be added into the
    ones it has, and record those in the answers file; return the added and the kept."""
    added, kept = [], []
    with tempfile.TemporaryDirectory(prefix="mlops-ladder-adopt-") as scratch:
        rendered = Path(scratch) / "project"
        render_or_refuse(source, level, data, rendered)
        # The files the team has that a higher level renders stay theirs too: a climb
        # must not meet them as conflicts.
        top = max(ladder.BUILT_LEVELS)
        higher = Path(scratch) / "top"
        if level < top:
            render_or_refuse(source, top, data, higher)
        later = set(rendered_files(higher)) if level < top else set()
        ours = {name for name in later if (path / name).exists() or (path / name).is_symlink()}
        for name in rendered_files(rendered):
            if name == ANSWERS:
                continue
            target = path / name
            if target.exists() or target.is_symlink():
                ours.add(name)
                kept.append(keep(target, rendered / name, name))
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(rendered / name, target)
            added.append(name)
        write_answers(rendered / ANSWERS, path / ANSWERS, sorted(ours))
        added.append(ANSWERS)
    return added, kept


def render_or_refuse(
    source: str, level: int, data: dict[str, Any], into: Path, vcs_ref: str = "HEAD"
) -> None:
    try:
        render(source, level, data, into, vcs_ref)
    except Exception as error:  # copier's refusals: bad answers, an unreachable source
        raise doctor.UnusableInput(
            f"copier could not render level {level} from {source}: {error}; give answers "
            "with --data NAME=VALUE (e.g. --data project_name='Churn Model')"
        ) from None


def keep(target: Path, template: Path, name: str) -> Kept:
    """Keep the team's file, with what can be added merged in (pyproject.toml, Makefile)."""
    merged: list[str] = []
    if name in MERGEABLE and not target.is_symlink():
        try:
            ours = target.read_text(encoding="utf-8")
            result = merge(name, ours, template.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, OSError):
            result = None
        if result and result.added:
            target.write_text(result.text, encoding="utf-8")
            merged = result.added
    return Kept(name, additions(target, template), merged)


def merge_again(path: Path, recorded: dict[str, Any]) -> tuple[int, list[Kept]]:
    """After a climb: merge what the recorded level adds into the files the team kept."""
    level = int(recorded["mlops_level"])
    data = {k: v for k, v in recorded.items() if not k.startswith("_") and k != "kept_files"}
    source, ref = str(recorded["_src_path"]), str(recorded.get("_commit") or "HEAD")
    with tempfile.TemporaryDirectory(prefix="mlops-ladder-adopt-") as scratch:
        rendered = Path(scratch) / "project"
        render_or_refuse(source, level, data, rendered, ref)
        kept = [
            keep(path / name, rendered / name, name)
            for name in recorded["kept_files"]
            if (rendered / name).is_file() and (path / name).is_file()
        ]
    return level, kept


def write_answers(rendered: Path, answers: Path, kept_files: list[str]) -> None:
    """copier's answers file, with the files the team keeps (copier.yml excludes them)."""
    header, _, _ = rendered.read_text(encoding="utf-8").partition("\n")
    recorded = yaml.safe_load(rendered.read_text(encoding="utf-8"))
    if kept_files:
        recorded["kept_files"] = kept_files
    body = yaml.safe_dump(recorded, default_flow_style=False, sort_keys=True, allow_unicode=True)
    answers.write_text(f"{header}\n{body}", encoding="utf-8")


def run(args: argparse.Namespace, out: Console) -> int:
    path = args.path
    recorded = check_repository(path)
    if recorded is not None:
        if args.level and args.level != int(recorded["mlops_level"]):
            raise doctor.UnusableInput(
                f"{path} is at level {recorded['mlops_level']} already; move up a level with "
                f"`copier update --trust --defaults --data mlops_level={args.level}`, then run "
                "adopt again to merge what it adds into the files you kept"
            )
        level, kept = merge_again(path, recorded)
        out.print(f"[bold]Level {level} ({ladder.LEVELS[level]}) in {path}[/bold]")
        if not any(item.merged for item in kept):
            out.print("Nothing to merge: the files you kept name what the level adds to them.")
        print_kept(kept, out)
        print_table(doctor.examine(path), out)
        return doctor.OK
    source = template_source(args.template)
    data = {"project_name": project_name(path), **parse_data(args.data)}
    level = args.level or default_level(path)
    added, kept = adopt(path, level, source, data)
    out.print(f"[bold]Adopted level {level} ({ladder.LEVELS[level]}) in {path}[/bold]")
    out.print(f"Added {len(added)} files, among them {ANSWERS} for `copier update`.")
    print_kept(kept, out)
    if level + 1 in ladder.BUILT_LEVELS:
        out.print(
            "Commit the changes, then climb with: copier update --trust --defaults "
            f"--data mlops_level={level + 1}, and run adopt again to merge what the level "
            "adds into the files you kept"
        )
    print_table(doctor.examine(path), out)
    return doctor.OK


def print_kept(kept: list[Kept], out: Console) -> None:
    merged = [item for item in kept if item.merged]
    if merged:
        out.print(
            f"Merged into {len(merged)} files of yours what the level adds to them (nothing "
            "of yours changed or removed):"
        )
        for item in merged:
            out.print(f"  {item.path}: {'; '.join(item.merged)}", highlight=False)
    if kept:
        out.print(
            f"Kept {len(kept)} files of yours (copier update leaves them to you, as "
            f"kept_files in {ANSWERS}); the template's version of each still has these "
            "lines (merge what you need by hand):"
        )
    for item in kept:
        out.print(f"  {item.path}: {len(item.adds)} lines", highlight=False)
        for line in item.adds[:8]:
            out.print(f"    + {line}", markup=False, highlight=False)
        if len(item.adds) > 8:
            out.print(f"    ... and {len(item.adds) - 8} more", highlight=False)
