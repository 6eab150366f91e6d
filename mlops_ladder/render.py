"""The doctor's report as a terminal table (rich), Markdown or JSON."""

from __future__ import annotations

import json
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from mlops_ladder._ladder import ladder
from mlops_ladder.score import SECTIONS


def as_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2)


def _level_line(report: dict[str, Any]) -> str:
    level = report["level"]
    if level == 0:
        return "Level met: none yet (level 1's base is incomplete)"
    return f"Level met: {level} ({report['level_name']})"


def _score_line(report: dict[str, Any]) -> str:
    score = report["score"]
    sections = ", ".join(f"{name} {points:g}" for name, points in score["sections"].items())
    return f"ML Test Score: {score['final']:g} (the lowest section; {sections}). {score['band']}"


def _recommendation_line(report: dict[str, Any]) -> str | None:
    given = report["recommendation"]
    if not given:
        return None
    verdict = (
        "the evidence meets it"
        if report["level"] >= given["level"]
        else f"the evidence shows level {report['level']}"
    )
    return (
        f"Recommended level: {given['level']} ({ladder.LEVELS[given['level']]}), from "
        f"{given['source']}: {given['reason']}; {verdict}"
    )


def as_markdown(report: dict[str, Any]) -> str:
    lines = [f"## MLOps ladder: {report['name']}", "", f"**{_level_line(report)}**", ""]
    recommendation = _recommendation_line(report)
    if recommendation:
        lines += [recommendation, ""]
    following = report["next_level"]
    if following and following["missing"]:
        lines += [
            f"### Missing for level {following['level']} ({following['name']})",
            "",
            "| feature | not found | adding it |",
            "|---|---|---|",
        ]
        lines += [
            f"| {item['feature']} | {'; '.join(item['not_found'])} | {item['adding']} |"
            for item in following["missing"]
        ]
        lines.append("")
    lines += ["### Features", "", "| level | feature | found |", "|---|---|---|"]
    for name, feature in report["features"].items():
        found = (
            ", ".join(f"`{place}`" for place in feature["found"]) if feature["present"] else "no"
        )
        lines.append(f"| {feature['level']} | {name} | {found} |")
    lines += ["", "### " + _score_line(report), "", "| test | points | status |", "|---|---|---|"]
    for test in report["score"]["tests"]:
        lines.append(
            f"| {test['id']} {test['title']} | {test['points']:g} | {test['status']}: "
            f"{test['detail']} |"
        )
    if report["problems"]:
        lines += ["", "### Problems", ""] + [f"- {problem}" for problem in report["problems"]]
    return "\n".join(lines) + "\n"


def print_table(report: dict[str, Any], console: Console) -> None:
    console.print(f"[bold]MLOps ladder: {report['name']}[/bold] ({report['path']})")
    for problem in report["problems"]:
        console.print(f"[yellow]problem:[/yellow] {problem}", highlight=False)
    console.print(f"[bold]{_level_line(report)}[/bold]")
    recommendation = _recommendation_line(report)
    if recommendation:
        console.print(recommendation, highlight=False)
    features = Table("level", "feature", "evidence", box=box.SIMPLE, title="Features")
    for name, feature in report["features"].items():
        evidence = (
            "[green]" + ", ".join(feature["found"]) + "[/green]"
            if feature["present"]
            else "[red]not found: " + "; ".join(feature["not_found"]) + "[/red]"
        )
        features.add_row(str(feature["level"]), name, evidence)
    console.print(features)
    following = report["next_level"]
    if following and following["missing"]:
        missing = Table(
            "feature",
            "adding it",
            box=box.SIMPLE,
            title=f"Missing for level {following['level']} ({following['name']})",
        )
        for item in following["missing"]:
            missing.add_row(item["feature"], item["adding"])
        console.print(missing)
    tests = Table("test", "points", "status", box=box.SIMPLE, title="ML Test Score")
    for section in SECTIONS:
        for test in report["score"]["tests"]:
            if test["id"].startswith(section + "-"):
                status = test["status"]
                if status != "automated":
                    status += f": {test['detail']}"
                tests.add_row(f"{test['id']} {test['title']}", f"{test['points']:g}", status)
    console.print(tests)
    console.print(f"[bold]{_score_line(report)}[/bold]", highlight=False)
