"""`make bench`: every benchmark in one run, one table of medians and ratios.

Each figure is compared with a baseline measured in the same run on the same machine;
ratios are figure / baseline. BENCH_QUICK=1 runs one short round of everything (a smoke
run, written to results/quick.*); BENCH_ONLY=<section>,... runs only those sections
(render, train, footprint, serving, level4, retrain, doctor); BENCH_KEEP=1 keeps the work directory.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks import doctor, footprint, level4, render, retrain, serving, training
from benchmarks.common import BENCH, Row, log, run, setup_project, snapshot_template

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
ROUNDS = (
    {"render": 1, "train": 1, "serving": 1, "drift": 1, "retrain": 1, "doctor": 1}
    if QUICK
    else {"render": 5, "train": 5, "serving": 3, "drift": 5, "retrain": 3, "doctor": 7}
)
SECTIONS = ("render", "train", "footprint", "serving", "level4", "retrain", "doctor")
# BENCH_ONLY=render,level4 runs only those sections (its results go to *-partial.*).
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "").split(","))) or set(SECTIONS)
LOAD = serving.Load(seconds=2, warmup_seconds=1) if QUICK else serving.Load()


def ensure_wrk() -> None:
    """Install wrk with apt-get when it is missing and apt-get is there; else say so."""
    if shutil.which("wrk"):
        return
    if not shutil.which("apt-get") or os.geteuid() != 0:
        log("wrk is missing and apt-get (as root) is not available: serving is skipped")
        return
    log("installing wrk with apt-get")
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    if subprocess.run(install, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
        if subprocess.run(install, capture_output=True).returncode != 0:
            log("apt-get could not install wrk: serving is skipped")


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
    }


def cell(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:.3g}"
    return f"{text} {unit}".strip()


def table(rows: list[Row]) -> str:
    lines = [
        "| section | measurement | median | baseline (median) | ratio | note |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        baselines = "<br>".join(f"{name}: {cell(value, row.unit)}" for name, value in row.baselines)
        ratios = " · ".join(
            cell(ratio) if ratio is None else f"{ratio:.2f}" if ratio >= 0.01 else f"{ratio:.2g}"
            for ratio in row.ratios()
        )
        lines.append(
            f"| {row.section} | {row.name} | {cell(row.value, row.unit)} | "
            f"{baselines or '—'} | {ratios or '—'} | {row.note} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    if unknown := ONLY - set(SECTIONS):
        raise SystemExit(f"BENCH_ONLY names no section {', '.join(sorted(unknown))}; "
                         f"use some of {','.join(SECTIONS)}")  # fmt: skip
    started = time.perf_counter()
    ensure_wrk()
    work = Path(tempfile.mkdtemp(prefix="mlops-ladder-bench-"))
    info = machine() | {"quick": QUICK, "rounds": ROUNDS}
    try:
        template = snapshot_template(work)
        rows = render.bench(template, work / "render", ROUNDS["render"]) if "render" in ONLY else []

        if ONLY & {"train", "footprint", "serving"}:
            log("setting up one project per level (untimed)")
            projects = {
                name: setup_project(template, work / name.replace(" ", "-"), answers)
                for name, answers in render.variants().items()
            }
        if "footprint" in ONLY:
            sizes = {name: footprint.measure(path / ".venv") for name, path in projects.items()}
            baseline = footprint.measure(footprint.baseline_venv(projects["level 1"], work))
        if "train" in ONLY:
            rows += training.bench(projects["level 1"], work / "train", ROUNDS["train"])
        if "footprint" in ONLY:
            rows += footprint.rows(sizes, baseline)

        if "serving" in ONLY:
            online = projects["level 2 online"]
            log("level 2 online: make pipeline (registers the champion, untimed)")
            run(["make", "pipeline", f"UV={os.environ.get('UV', 'uv')}"], online)
            serving_rows, info["serving"] = serving.bench(
                online, work / "serve", ROUNDS["serving"], LOAD
            )
            rows += serving_rows

        if "level4" in ONLY:
            log("level 3 and level 4 online projects, each with a champion (untimed)")
            level3, level4_ = (
                level4.with_champion(setup_project(template, work / f"level-{n}-online", answers))
                for n, answers in ((3, {"mlops_level": "3", "serving": "online"}),
                                   (4, {"mlops_level": "4", "serving": "online"}))
            )  # fmt: skip
            rows += level4.drift(level4_, ROUNDS["drift"])
            service_rows, info["level4"] = level4.service(
                level3, level4_, work / "level4-serve", ROUNDS["serving"], LOAD
            )
            rows += service_rows
        if "retrain" in ONLY:
            log("a level 4 batch project with a champion (untimed)")
            answers = {"mlops_level": "4", "serving": "batch"}
            batch = level4.with_champion(setup_project(template, work / "level-4-batch", answers))
            rows += retrain.bench(batch, work / "retrain", ROUNDS["retrain"])
        if "doctor" in ONLY:
            rows += doctor.bench(template, work / "doctor", ROUNDS["doctor"])
    finally:
        if os.environ.get("BENCH_KEEP"):
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    info["loadavg_at_end"] = Path("/proc/loadavg").read_text().split()[:3]
    info["wall_seconds"] = round(time.perf_counter() - started, 1)
    serving_info = info.get("serving", {})
    header = (
        f"`make bench`{' (BENCH_QUICK=1)' if QUICK else ''} on {info['nproc']} x {info['cpu']}, "
        f"Python {info['python']}; rounds {ROUNDS}; wrk {LOAD.connections} connections, "
        f"{LOAD.threads} threads, {LOAD.seconds} s; {serving_info.get('pinning', 'no serving')}; "
        f"predictions agree: {serving_info.get('predictions_agree', '—')}; load average "
        f"{' '.join(info['loadavg_at_start'])} → {' '.join(info['loadavg_at_end'])}; "
        f"took {info['wall_seconds']:.0f} s. Ratio = median / baseline median.\n"
    )
    markdown = header + "\n" + table(rows)
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    stem = ("quick" if QUICK else "latest") + ("" if set(SECTIONS) == ONLY else "-partial")
    (results / f"{stem}.md").write_text(markdown, encoding="utf-8")
    (results / f"{stem}.json").write_text(
        json.dumps(
            {"machine": info, "rows": [asdict(row) | {"ratios": row.ratios()} for row in rows]},
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(markdown)
    log(f"wrote {results / stem}.md and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
