"""Section 1: `copier copy` of every level and `copier update` of every climb.

Both are compared with copier's own floor, measured in the same rounds: a one-file
template in a git repo (process start, template clone, git), copied and no-op updated.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from benchmarks.common import (
    COPIER,
    PROJECT_NAME,
    Row,
    copier_data,
    git_commit_all,
    log,
    median,
    render,
    run,
    timed,
)
from extensions.ladder import BUILT_LEVELS
from harness.matrix import variants as test_variants

FLOOR_LABEL = "one-file template"
UPGRADES = [(low, high) for low in BUILT_LEVELS for high in BUILT_LEVELS if high > low]


def variants() -> dict[str, dict[str, str]]:
    """The test matrix's variants (every built level, its tier-gated answers), by name.

    The same levels and answers as the template's tests, with default identity answers.
    """
    return {
        " ".join(["level", str(variant.level), *(str(value) for _, value in variant.choices)]): {
            "mlops_level": str(variant.level),
            **{question: str(value) for question, value in variant.choices},
        }
        for variant in test_variants()
    }


def floor_template(work: Path) -> Path:
    template = work / "floor-template"
    template.mkdir(parents=True)
    (template / "copier.yml").write_text("name:\n  type: str\n  default: floor\n")
    (template / "README.md.jinja").write_text("# {{ name }}\n")
    answers = template / "{{ _copier_conf.answers_file }}.jinja"
    answers.write_text("{{ _copier_answers | to_nice_yaml }}")
    git_commit_all(template, "floor")
    return template


def update_command(project: Path, answers: dict[str, str]) -> list[str]:
    flags = ["update", "--trust", "--defaults", "--quiet"]
    return [COPIER, *flags, *copier_data(answers), str(project)]


def committed(command: list[str], dst: Path) -> Path:
    run(command, dst.parent)
    git_commit_all(dst, "rendered")
    return dst


def reset(project: Path) -> None:
    run(["git", "reset", "--quiet", "--hard"], project)
    run(["git", "clean", "--quiet", "-fdx"], project)


def bench(template: Path, work: Path, rounds: int) -> list[Row]:
    work.mkdir(parents=True)
    floor = floor_template(work)
    copies = {FLOOR_LABEL: (floor, {})} | {
        name: (template, {"project_name": PROJECT_NAME, **answers})
        for name, answers in variants().items()
    }
    updates = {
        FLOOR_LABEL: (committed(render(floor, work / "up-floor", {}), work / "up-floor"), {})
    }
    for low, high in UPGRADES:  # every climb, with the default answers
        project = work / f"up-{low}-{high}"
        answers = {"project_name": PROJECT_NAME, "mlops_level": str(low)}
        updates[f"{low} → {high}"] = (
            committed(render(template, project, answers), project),
            {"mlops_level": str(high)},
        )

    copy_times: dict[str, list[float]] = {name: [] for name in copies}
    update_times: dict[str, list[float]] = {name: [] for name in updates}
    for round_ in range(-1, rounds):  # round -1 warms caches and bytecode, untimed
        log(f"render round {round_ + 1}/{rounds}" if round_ >= 0 else "render warm-up")
        for name, (source, answers) in copies.items():
            dst = work / "copy"
            seconds = timed(render(source, dst, answers), work)
            shutil.rmtree(dst)
            if round_ >= 0:
                copy_times[name].append(seconds)
        for name, (project, answers) in updates.items():
            seconds = timed(update_command(project, answers), work)
            reset(project)
            if round_ >= 0:
                update_times[name].append(seconds)

    return rows_against_floor(copy_times, "copy {}", "copy " + FLOOR_LABEL) + rows_against_floor(
        update_times, "update level {}", "no-op update " + FLOOR_LABEL
    )


def rows_against_floor(times: dict[str, list[float]], label: str, floor_label: str) -> list[Row]:
    """One row per measured variant, each with the floor's median as its baseline."""
    floor = median(times[FLOOR_LABEL])
    return [
        Row(
            "render",
            label.format(name),
            "s",
            median(samples),
            [(floor_label, floor)],
            samples=samples,
        )
        for name, samples in times.items()
        if name != FLOOR_LABEL
    ]
