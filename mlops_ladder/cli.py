"""The `mlops-ladder` command: `doctor` reports on a repository, `adopt` puts one on the
ladder. Exit statuses: 0 done (and at or above --min-level/--min-score); 1 below
--min-level or --min-score; 2 the input could not be used (the message says why)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from mlops_ladder import doctor
from mlops_ladder._ladder import ladder
from mlops_ladder.render import as_json, as_markdown, print_table


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="mlops-ladder", description=__doc__.split("\n")[0])
    commands = main.add_subparsers(dest="command", required=True)

    check = commands.add_parser(
        "doctor",
        help="the level a repository meets, the next level's missing features, its ML Test Score",
        description="Report the MLOps level a repository meets, what the next level lacks and "
        "its ML Test Score. Exits 1 when below --min-level or --min-score, 2 on unusable input.",
    )
    check.add_argument("path", nargs="?", default=".", type=Path, help="the repository (.)")
    check.add_argument(
        "--format", choices=("table", "markdown", "json"), default="table", help="the output"
    )
    check.add_argument(
        "--answers",
        type=Path,
        help="a YAML file of the maturity answers (team_size, project_stage, release_cadence, "
        "compliance) for the recommendation; default: the project's .copier-answers.yml",
    )
    check.add_argument(
        "--ask", action="store_true", help="ask the maturity questions on the terminal"
    )
    check.add_argument(
        "--min-level", type=int, choices=sorted(ladder.LEVELS), help="exit 1 below this level"
    )
    check.add_argument("--min-score", type=float, help="exit 1 below this ML Test Score")

    adopt = commands.add_parser(
        "adopt",
        help="render a level into an existing repository, keeping every file it has",
        description="Render a level of the template into an existing git repository without "
        "overwriting any of its files, record the answers for later `copier update` climbs, "
        "and show doctor's report.",
    )
    adopt.add_argument("path", type=Path, help="the repository (a clean git work tree)")
    adopt.add_argument(
        "--level",
        type=int,
        choices=sorted(ladder.BUILT_LEVELS),
        help="default: the level doctor finds, or the recommendation when it is higher",
    )
    adopt.add_argument(
        "--template",
        help="the template source copier records (default: this checkout of the template)",
    )
    adopt.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an answer to give copier (e.g. --data serving=online); repeatable",
    )
    return main


def run_doctor(args: argparse.Namespace, out: Console) -> int:
    answers, source = None, ""
    if args.answers:
        answers, source = doctor.read_answers(args.answers), str(args.answers)
    elif args.ask:
        answers, source = doctor.ask_answers(), "your answers"
    report = doctor.examine(args.path, answers, source)
    if args.format == "json":
        out.print(as_json(report), markup=False, highlight=False, soft_wrap=True)
    elif args.format == "markdown":
        out.print(as_markdown(report), markup=False, highlight=False, soft_wrap=True, end="")
    else:
        print_table(report, out)
    below = []
    if args.min_level is not None and report["level"] < args.min_level:
        below.append(f"level {report['level']} is below --min-level {args.min_level}")
    if args.min_score is not None and report["score"]["final"] < args.min_score:
        below.append(
            f"ML Test Score {report['score']['final']:g} is below --min-score {args.min_score:g}"
        )
    for line in below:
        print(f"mlops-ladder doctor: {line}", file=sys.stderr)
    return doctor.BELOW if below else doctor.OK


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    out = Console(highlight=False)
    try:
        if args.command == "doctor":
            return run_doctor(args, out)
        from mlops_ladder import adopt

        return adopt.run(args, out)
    except doctor.UnusableInput as error:
        print(f"mlops-ladder {args.command}: {error}", file=sys.stderr)
        return doctor.UNUSABLE


if __name__ == "__main__":
    sys.exit(main())
