"""Run a project's GitHub Actions workflows on this machine, as GitHub's runner runs them.

    origin = make_origin(project, tmp_path / "origin.git")
    with FakeGitHub(origin.repository) as api:
        result = run_workflow(origin, ".github/workflows/ci.yml", event="push", api=api,
                              tmp=tmp_path)
    result.check()  # an AssertionError with the failed steps' output, else the result

Given a Project rather than an Origin, a run makes an origin of its own for that run
only; to keep pushes across runs, make the origin once with `make_origin`.

What is faithful to GitHub:
- The workflow file is read at the event's commit, and runs only for an event its `on:`
  accepts (another event, a push its branches/tags filters leave out, or a
  repository_dispatch of another type is refused with a WorkflowError).
- Each job runs in an empty workspace of its own; `actions/checkout` makes it a fresh
  clone of the origin, a bare repository the test owns (`make_origin`), so a `git push`
  from a job lands in the origin and the next job (or the test) sees it. Checkout takes
  the event's commit unless `ref:` says otherwise, shallow unless `fetch-depth: 0`, on
  the branch (tracking origin) for a branch, detached for a tag or a commit; with
  `persist-credentials: false` a push fails, as it does without the token.
- `run:` steps are written to a script file and run with GitHub's shells: no shell set
  means `bash -e {0}` (no pipefail), `shell: bash` is `bash --noprofile --norc -eo
  pipefail {0}`, `sh` is `sh -e {0}`, `python` is `python {0}`, anything else with
  `{0}` is taken as the command; `defaults.run` of the workflow and the job apply.
- `${{ }}` expressions (harness/expressions.py) over the contexts github, env, vars,
  secrets, inputs, steps, needs, runner, job, with the runner's order: workflow, job,
  then step `env`; `if:` without a status function means `success() && ...`.
- The runner's files GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH and GITHUB_STEP_SUMMARY
  are fresh for each step and applied after it (to the later steps only); GITHUB_ENV
  overrides workflow and job `env` but not a step's; RUNNER_TEMP is fresh per job;
  the default variables (GITHUB_REPOSITORY, GITHUB_RUN_ID, GITHUB_SHA, CI=true, ...).
- `continue-on-error`, `timeout-minutes` (step: the step fails; job: the job is
  cancelled and only `always()`/`cancelled()` steps run), `working-directory`.
- The environment is the machine's, not the test suite's: only PATH (without the
  suite's virtual environment) and a few settings of the machine (locale, certificates,
  pyenv) pass; HOME is a fresh folder whose git configuration has no identity and
  refuses to guess one, so `git commit` works only where the workflow sets an identity.
- Jobs of `run_workflow` run in `needs` order; a job's `if:` (default `success()`)
  sees the results of all the jobs before it; `needs.<job>.outputs/result`.
- A job with `environment:` whose environment has required reviewers in the fake API
  runs only once `api.approve(run_id, ...)` recorded an approval for that run (result
  `waiting` otherwise, `failure` when rejected); `run_workflow(..., resume=result)`
  then continues the waiting run with its commit and finished jobs.
- `run_job(..., checked_elsewhere={step name: where})` does not run the named steps of
  that job, for steps whose work another test already checks and that leave nothing
  the later steps read (a lint, the project's own tests); each is reported as skipped,
  saying where it is checked. A name the job does not have is an error.

What is not:
- `uses:` steps run local stand-ins (harness/stand_ins.py: checkout, setup-uv,
  setup-python, upload- and download-artifact; or a test's own through `stand_ins=`),
  not the actions' code; an action without one is skipped and listed in
  `JobResult.unsupported`. No containers, services, matrices, reusable workflows,
  composite or Docker actions, caches; `runs-on`, `permissions`, `concurrency` and
  secret masking are ignored; `paths` filters are not applied. Jobs run one after
  another, never in parallel.
- `gh` is a fake (harness/fake_gh.py) talking to the fake API (harness/github_api.py)
  through GITHUB_API_URL, put on PATH only when `api=` is given.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from harness.expressions import (
    ExpressionError,
    condition,
    interpolate,
    interpolate_value,
    to_string,
    truthy,
)
from harness.project import Project
from harness.stand_ins import STAND_INS, ActionCall, ActionFailed, StandIn

if TYPE_CHECKING:
    from harness.github_api import FakeGitHub

SHELLS = {
    None: "bash -e {0}",
    "bash": "bash --noprofile --norc -eo pipefail {0}",
    "sh": "sh -e {0}",
    "python": "python {0}",
}
SCRIPT_SUFFIX = {"python": ".py"}
# Settings of the machine a runner has too (locale, certificates, pyenv's interpreters).
MACHINE_VARIABLES = (
    "LANG",
    "LC_ALL",
    "TZ",
    "TERM",
    "USER",
    "LOGNAME",
    "PYENV_ROOT",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "GIT_SSL_CAINFO",
    "PIP_FIND_LINKS",
    "PIP_CERT",
)
# The runner's git: no identity, and no guessing one from the host name.
GITCONFIG = "[user]\n\tuseConfigOnly = true\n[init]\n\tdefaultBranch = main\n"
SERVER_URL = "https://github.com"
FAKE_GH = Path(__file__).with_name("fake_gh.py")
_run_ids = itertools.count(int(time.time()) % 100_000 * 10)


class WorkflowError(Exception):
    """A workflow (or a call of this module) the harness cannot run: the message says why."""


@dataclass
class Origin:
    """The bare repository that plays the project's GitHub repository."""

    path: Path
    repository: str = "octo-org/project"  # owner/name, as github.repository
    default_branch: str = "main"

    def git(self, *args: str) -> str:
        return _git(self.path, *args)

    def sha(self, ref: str | None = None) -> str:
        return self.git("rev-parse", f"{ref or self.default_branch}^{{commit}}").strip()

    def show(self, path: str, ref: str | None = None) -> str:
        """A file's content at `ref` (the default branch's head by default)."""
        return self.git("show", f"{ref or self.default_branch}:{path}")

    def subjects(self, ref: str | None = None) -> list[str]:
        """The commit subjects on `ref`, newest first."""
        return self.git("log", "--format=%s", ref or self.default_branch).splitlines()

    def clone(self, path: Path) -> Path:
        """A work tree of the origin, for the test to act as a developer (commit, push)."""
        subprocess.run(
            ["git", "clone", "--quiet", str(self.path), str(path)], check=True, capture_output=True
        )
        return path


def make_origin(source: Project | Path, path: Path, repository: str | None = None) -> Origin:
    """A bare clone of a committed project (or any git work tree) at `path`: its origin."""
    source_path = source.path if isinstance(source, Project) else Path(source)
    subprocess.run(
        ["git", "clone", "--bare", "--quiet", str(source_path), str(path)],
        check=True,
        capture_output=True,
    )
    branch = _git(path, "symbolic-ref", "--short", "HEAD").strip()
    return Origin(path, repository or f"octo-org/{source_path.name}", branch)


@dataclass
class StepResult:
    name: str
    id: str | None
    outcome: str  # success | failure | skipped (before continue-on-error)
    conclusion: str  # success | failure | skipped (after continue-on-error)
    output: str = ""  # what the step printed, stdout and stderr together
    outputs: dict[str, str] = field(default_factory=dict)
    uses: str | None = None  # the action's name, without its version
    unsupported: bool = False  # a `uses:` step skipped for want of a stand-in
    error: str = ""  # why the runner failed the step (expression, timeout, stand-in)
    seconds: float = 0.0  # how long it ran


@dataclass
class JobResult:
    id: str
    result: str  # success | failure | cancelled | skipped | waiting
    steps: list[StepResult] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""  # everything the steps wrote to GITHUB_STEP_SUMMARY
    annotations: list[str] = field(default_factory=list)  # "error: ..." from ::error:: lines
    message: str = ""  # why a job did not run (skipped, waiting, rejected)
    workspace: Path | None = None  # GITHUB_WORKSPACE, left for the test to look at

    @property
    def ok(self) -> bool:
        return self.result == "success"

    @property
    def unsupported(self) -> list[str]:
        """The actions that had no stand-in (their steps were skipped)."""
        return [step.uses or "" for step in self.steps if step.unsupported]

    @property
    def log(self) -> str:
        return "\n".join(f"--- {step.name} ({step.outcome})\n{step.output}" for step in self.steps)

    def step(self, name_or_id: str) -> StepResult:
        found = [step for step in self.steps if name_or_id in (step.name, step.id)]
        if not found:
            names = ", ".join(repr(step.name) for step in self.steps)
            raise KeyError(f"job {self.id} has no step {name_or_id!r}; its steps: {names}")
        return found[0]

    def check(self) -> JobResult:
        """The result, if the job succeeded; else an AssertionError showing why."""
        if not self.ok:
            raise AssertionError(self.report())
        return self

    def report(self) -> str:
        lines = [f"job {self.id}: {self.result}" + (f" ({self.message})" if self.message else "")]
        for step in self.steps:
            state = "unsupported" if step.unsupported else step.conclusion
            error = f": {step.error}" if step.error else ""
            lines.append(f"  {state:>11}  {step.name}{error}")
            if step.outcome == "failure":
                tail = step.output.splitlines()[-40:]
                lines.extend(" " * 15 + line for line in tail)
        return "\n".join(lines)


@dataclass
class WorkflowResult:
    jobs: dict[str, JobResult]
    run_id: int = 0  # github.run_id of the run
    sha: str = ""  # the event's commit (github.sha)
    ref: str = ""  # the event's ref (github.ref)

    @property
    def result(self) -> str:
        results = {job.result for job in self.jobs.values()}
        for result in ("waiting", "failure", "cancelled"):
            if result in results:
                return result
        return "success"

    @property
    def ok(self) -> bool:
        return self.result == "success"

    @property
    def unsupported(self) -> list[str]:
        return [name for job in self.jobs.values() for name in job.unsupported]

    def __getitem__(self, job_id: str) -> JobResult:
        return self.jobs[job_id]

    def check(self) -> WorkflowResult:
        if not self.ok:
            raise AssertionError("\n".join(job.report() for job in self.jobs.values()))
        return self


def run_job(
    project_or_origin: Project | Origin | Path,
    workflow_path: str | Path,
    job_id: str,
    *,
    event: str,
    tmp: Path,
    inputs: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    vars: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    api: FakeGitHub | None = None,
    needs: Mapping[str, Mapping[str, Any]] | None = None,
    ref: str | None = None,
    actor: str = "octocat",
    run_id: int | None = None,
    payload: Mapping[str, Any] | None = None,
    stand_ins: Mapping[str, StandIn] | None = None,
    checked_elsewhere: Mapping[str, str] | None = None,
) -> JobResult:
    """Run one job of a workflow, whatever its `if:` says (run_workflow evaluates it),
    held as GitHub holds it when its environment needs an approval. `needs` gives the
    needs context ({job: {"result": ..., "outputs": {...}}}); `env` adds variables to the
    machine's environment (as a self-hosted runner's would); the other arguments are
    those of `run_workflow`; `checked_elsewhere` is in the module's docstring."""
    run = _Run.start(**locals())
    job = run.job(job_id)
    names = {str(step.get("name")) for step in job.get("steps") or []}
    run.checked_elsewhere = dict(checked_elsewhere or {})
    if unknown := sorted(set(run.checked_elsewhere) - names):
        raise WorkflowError(f"job {job_id} has no step named {', '.join(map(repr, unknown))}")
    return run.run_job(job_id, job, {name: dict(value) for name, value in (needs or {}).items()})


def run_workflow(
    project_or_origin: Project | Origin | Path,
    workflow_path: str | Path,
    *,
    event: str,
    tmp: Path,
    jobs: Iterable[str] | None = None,
    inputs: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    vars: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    api: FakeGitHub | None = None,
    ref: str | None = None,
    actor: str = "octocat",
    run_id: int | None = None,
    payload: Mapping[str, Any] | None = None,
    stand_ins: Mapping[str, StandIn] | None = None,
    resume: WorkflowResult | None = None,
) -> WorkflowResult:
    """Run a workflow's jobs (all, or those named in `jobs`) in `needs` order for `event`.

    `workflow_path` is relative to the repository (read at the event's commit) or a
    file on disk. `ref` is the event's ref (default: the default branch; a tag:
    "refs/tags/v1.0.0"); `inputs` those of workflow_dispatch; `payload` is merged into
    github.event (e.g. {"action": "drift-detected", "client_payload": {...}}); `run_id`
    is github.run_id (approvals in the fake API are per run). Results are per job.

    `resume=` a result whose jobs wait for an approval continues that run after
    `api.approve(result.run_id, ...)`: same run id and commit, the finished jobs kept,
    the waiting ones and those after them run, as GitHub does once a reviewer approves.
    """
    arguments = dict(locals())
    selected = arguments.pop("jobs")
    previous = arguments.pop("resume")
    if previous is not None:
        arguments.update(run_id=previous.run_id, ref=previous.ref)
    sha = previous.sha if previous is not None else None
    run = _Run.start(**arguments, needs=None, job_id=None, sha=sha)
    order = run.job_order(selected)
    results: dict[str, JobResult] = {}
    for job_id in order:
        job = run.job(job_id)
        kept = previous.jobs.get(job_id) if previous is not None else None
        if kept is not None and kept.result != "waiting":
            results[job_id] = kept
            continue
        needed = _as_list(job.get("needs"))
        needs = {
            name: {"result": results[name].result, "outputs": results[name].outputs}
            for name in needed
        }
        if any(results[name].result == "waiting" for name in needed):
            results[job_id] = JobResult(job_id, "waiting", message="a job it needs is waiting")
            continue
        ancestors = run.ancestors(job_id)
        status = _needs_status([results[name].result for name in ancestors])
        contexts = {**run.contexts(), "needs": needs}
        try:
            runs = condition(job.get("if"), contexts, status)
        except ExpressionError as error:
            results[job_id] = JobResult(job_id, "failure", message=f"its if: {error}")
            continue
        if not runs:
            results[job_id] = JobResult(
                job_id, "skipped", message=f"if: {job.get('if', 'success()')}"
            )
            continue
        results[job_id] = run.run_job(job_id, job, needs)
    result = WorkflowResult(results, run.run_id, run.sha, run.ref)
    if api is not None:
        waiting = result.result == "waiting"
        api.runs[run.run_id].update(
            status="waiting" if waiting else "completed",
            conclusion=None if waiting else result.result,
        )
    return result


def _ref_filtered_in(spec: dict[str, Any], ref: str) -> bool:
    """Whether a push's branches/tags filters let `ref` through, as GitHub applies them:
    filters of only one kind (branches or tags) leave out every ref of the other kind."""
    kind = "tags" if ref.startswith("refs/tags/") else "branches"
    other = "branches" if kind == "tags" else "tags"
    name = ref.split("/", 2)[-1]
    if kind in spec:
        return _matches(spec[kind], name)
    if f"{kind}-ignore" in spec:
        return not _matches(spec[f"{kind}-ignore"], name)
    return other not in spec and f"{other}-ignore" not in spec


def _matches(patterns: list[str], name: str) -> bool:
    """GitHub's filter patterns: `*` within a path segment, `**` across, `!` negates."""
    matched = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern[1:] if negated else pattern
        regex = re.escape(glob).replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        if re.fullmatch(regex, name):
            matched = not negated
    return matched


def _needs_status(results: list[str]) -> str:
    if "failure" in results:
        return "failure"
    if "cancelled" in results:
        return "cancelled"
    if all(result == "success" for result in results):
        return "success"
    return "skipped"  # a job before was skipped: success() and failure() are both false


@dataclass
class _Run:
    """One workflow run: its event, contexts and folders, shared by its jobs."""

    origin: Origin
    workflow: dict[str, Any]
    workflow_name: str
    event: str
    ref: str
    sha: str
    run_id: int
    actor: str
    inputs: dict[str, Any]
    secrets: dict[str, str]
    vars: dict[str, str]
    machine_env: dict[str, str]
    api: FakeGitHub | None
    payload: dict[str, Any]
    stand_ins: dict[str, StandIn]
    folder: Path
    checked_elsewhere: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(cls, **arguments: Any) -> _Run:
        source = arguments["project_or_origin"]
        tmp: Path = arguments["tmp"]
        run_id = arguments["run_id"] or next(_run_ids)
        folder = tmp / f"run-{run_id}"
        folder.mkdir(parents=True, exist_ok=True)
        if isinstance(source, Origin):
            origin = source
        elif isinstance(source, Project):
            origin = make_origin(source, folder / "origin.git")
        else:
            origin = Origin(Path(source))
            origin.default_branch = origin.git("symbolic-ref", "--short", "HEAD").strip()
        # Checkout fetches the event's commit by its SHA, as actions/checkout does.
        origin.git("config", "uploadpack.allowAnySHA1InWant", "true")
        ref = arguments["ref"] or f"refs/heads/{origin.default_branch}"
        try:
            sha = arguments.get("sha") or origin.sha(ref)
        except subprocess.CalledProcessError:
            raise WorkflowError(
                f"the event's ref {ref} is not in the origin {origin.path}"
            ) from None
        workflow_path = arguments["workflow_path"]
        if Path(workflow_path).is_absolute():
            text = Path(workflow_path).read_text(encoding="utf-8")
        else:
            text = origin.git("show", f"{sha}:{workflow_path}")
        workflow = yaml.safe_load(text)
        api = arguments["api"]
        run = cls(
            origin=origin,
            workflow=workflow,
            workflow_name=str(workflow.get("name") or workflow_path),
            event=arguments["event"],
            ref=ref,
            sha=sha,
            run_id=run_id,
            actor=arguments["actor"],
            inputs={},
            secrets=dict(arguments["secrets"] or {}),
            vars=dict(arguments["vars"] or {}),
            machine_env=dict(arguments["env"] or {}),
            api=api,
            payload=dict(arguments["payload"] or {}),
            stand_ins={**STAND_INS, **(arguments["stand_ins"] or {})},
            folder=folder,
        )
        run.check_trigger()
        run.inputs = run.typed_inputs(dict(arguments["inputs"] or {}))
        run.secrets.setdefault("GITHUB_TOKEN", run.token)
        if api is not None:
            api.add_run(
                run_id,
                actor=run.actor,
                event=run.event,
                head_sha=sha,
                ref=ref,
                name=run.workflow_name,
            )
        return run

    @property
    def token(self) -> str:
        return self.api.token if self.api is not None else "ghs_harness-token"

    @property
    def triggers(self) -> dict[str, Any]:
        triggers = self.workflow.get(True, self.workflow.get("on")) or {}
        if isinstance(triggers, str):
            return {triggers: None}
        if isinstance(triggers, list):
            return dict.fromkeys(triggers)
        return triggers

    def check_trigger(self) -> None:
        """Refuse an event GitHub would not start the workflow for: another event, a
        repository_dispatch of another type, a push to a branch or tag its filters leave
        out (`paths` filters are not applied)."""
        if self.event not in self.triggers:
            triggers = ", ".join(map(str, self.triggers))
            raise WorkflowError(f"the workflow does not run on {self.event}, only on: {triggers}")
        spec = self.triggers[self.event] or {}
        types = spec.get("types") if self.event == "repository_dispatch" else None
        if types and self.payload.get("action") not in types:
            raise WorkflowError(
                f"the workflow runs on repository_dispatch of types {types}: "
                'pass payload={"action": <type>}'
            )
        if self.event in ("push", "pull_request") and not _ref_filtered_in(spec, self.ref):
            raise WorkflowError(f"the workflow's {self.event} filters leave out {self.ref}")

    def typed_inputs(self, given: dict[str, Any]) -> dict[str, Any]:
        """workflow_dispatch inputs as the inputs context has them: defaults filled in,
        booleans and numbers typed; unknown or missing required inputs refused."""
        if self.event != "workflow_dispatch":
            if given:
                raise WorkflowError(f"inputs are for workflow_dispatch, not for {self.event}")
            return {}
        declared = (self.triggers["workflow_dispatch"] or {}).get("inputs") or {}
        unknown = set(given) - set(declared)
        if unknown:
            raise WorkflowError(f"Unexpected inputs provided: {sorted(unknown)}")
        typed = {}
        for name, spec in declared.items():
            spec = spec or {}
            value = given.get(name, spec.get("default", ""))
            if spec.get("required") and (value is None or value == ""):
                raise WorkflowError(f"Required input '{name}' not provided")
            kind = spec.get("type", "string")
            if kind == "boolean":
                value = value if isinstance(value, bool) else str(value).lower() == "true"
            elif kind == "number" and value != "":
                value = float(value)
            else:
                value = "" if value is None else str(value)
            typed[name] = value
        return typed

    def job(self, job_id: str) -> dict[str, Any]:
        jobs = self.workflow.get("jobs") or {}
        if job_id not in jobs:
            raise WorkflowError(f"the workflow has no job {job_id!r}; its jobs: {sorted(jobs)}")
        job = jobs[job_id]
        for key in ("services", "container", "uses"):
            if key in job:
                raise WorkflowError(f"job {job_id} uses `{key}:`, which harness.actions cannot run")
        if (job.get("strategy") or {}).get("matrix"):
            raise WorkflowError(f"job {job_id} has a matrix, which harness.actions cannot run")
        return job

    def job_order(self, selected: Iterable[str] | None) -> list[str]:
        jobs = self.workflow.get("jobs") or {}
        wanted = list(selected) if selected is not None else list(jobs)
        for job_id in wanted:
            self.job(job_id)
            missing = [name for name in _as_list(jobs[job_id].get("needs")) if name not in wanted]
            if missing:
                raise WorkflowError(f"job {job_id} needs {missing}, which are not selected")
        order: list[str] = []
        while len(order) < len(wanted):
            ready = [
                job_id
                for job_id in wanted
                if job_id not in order
                and all(name in order for name in _as_list(jobs[job_id].get("needs")))
            ]
            if not ready:
                raise WorkflowError(f"the needs of {sorted(set(wanted) - set(order))} form a cycle")
            order.extend(ready)
        return order

    def ancestors(self, job_id: str) -> list[str]:
        jobs = self.workflow.get("jobs") or {}
        found: list[str] = []
        pending = _as_list(jobs[job_id].get("needs"))
        while pending:
            name = pending.pop()
            if name not in found:
                found.append(name)
                pending.extend(_as_list(jobs[name].get("needs")))
        return found

    def event_payload(self) -> dict[str, Any]:
        owner, name = self.origin.repository.split("/", 1)
        event: dict[str, Any] = {
            "repository": {
                "full_name": self.origin.repository,
                "name": name,
                "owner": {"login": owner},
                "default_branch": self.origin.default_branch,
            },
            "sender": {"login": self.actor},
        }
        if self.event == "workflow_dispatch":
            event["inputs"] = {key: to_string(value) for key, value in self.inputs.items()}
            event["ref"] = self.ref
        if self.event == "push":
            event.update(ref=self.ref, after=self.sha)
        return {**event, **self.payload}

    def github(self, workspace: Path | None = None, job_id: str = "") -> dict[str, Any]:
        ref_type = "tag" if self.ref.startswith("refs/tags/") else "branch"
        return {
            "event_name": self.event,
            "event": self.event_payload(),
            "ref": self.ref,
            "ref_name": self.ref.split("/", 2)[-1],
            "ref_type": ref_type,
            "sha": self.sha,
            "repository": self.origin.repository,
            "repository_owner": self.origin.repository.split("/")[0],
            "run_id": str(self.run_id),
            "run_number": "1",
            "run_attempt": "1",
            "actor": self.actor,
            "triggering_actor": self.actor,
            "server_url": SERVER_URL,
            "api_url": self.api_url,
            "graphql_url": f"{self.api_url}/graphql",
            "workflow": self.workflow_name,
            "job": job_id,
            "workspace": str(workspace or ""),
            "token": self.token,
            "head_ref": "",
            "base_ref": "",
        }

    @property
    def api_url(self) -> str:
        return self.api.url if self.api is not None else "https://api.github.com"

    def contexts(self) -> dict[str, Any]:
        """The contexts a job's `if:` sees (the runner adds env, steps, runner, job, secrets)."""
        return {
            "github": self.github(),
            "inputs": self.inputs,
            "vars": self.vars,
            "needs": {},
            "matrix": {},
            "strategy": {},
        }

    def run_job(self, job_id: str, job: dict[str, Any], needs: dict[str, Any]) -> JobResult:
        blocked = self.environment_gate(job_id, job)
        if blocked is not None:
            return blocked
        return _JobRunner(self, job_id, job, needs).perform()

    def environment_gate(self, job_id: str, job: dict[str, Any]) -> JobResult | None:
        """GitHub holds a job whose environment has required reviewers until one approves."""
        environment = job.get("environment")
        name = environment.get("name") if isinstance(environment, dict) else environment
        if not name or self.api is None:
            return None
        reviewers = self.api.required_reviewers(name)
        if not reviewers:
            return None
        reviews = [
            review
            for review in self.api.approvals.get(self.run_id, [])
            if name in [item["name"] for item in review["environments"]]
        ]
        if not reviews:
            who = ", ".join(reviewers)
            message = (
                f"waiting for a reviewer of {name} ({who}) to approve run {self.run_id}: "
                "api.approve(run_id, login), then run_workflow(..., resume=result)"
            )
            return JobResult(job_id, "waiting", message=message)
        if reviews[-1]["state"] == "rejected":
            login = reviews[-1]["user"]["login"]
            return JobResult(
                job_id, "failure", message=f"{login} rejected the deployment to {name}"
            )
        return None


class _JobRunner:
    """The steps of one job, run in order in a fresh workspace."""

    def __init__(self, run: _Run, job_id: str, job: dict[str, Any], needs: dict[str, Any]):
        self.run = run
        self.job_id = job_id
        self.job = job
        self.needs = needs
        self.folder = run.folder / job_id
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.workspace = self.folder / "workspace"
        self.temp = self.folder / "temp"
        self.home = self.folder / "home"
        self.tools = self.folder / "tools"
        for folder in (self.workspace, self.temp, self.home, self.tools):
            folder.mkdir(parents=True)
        (self.home / ".gitconfig").write_text(GITCONFIG)
        self.event_path = self.folder / "event.json"
        self.event_path.write_text(json.dumps(run.event_payload(), indent=2))
        self.status = "success"
        self.steps_context: dict[str, Any] = {}
        self.path_entries: list[str] = []
        self.global_env: dict[str, str] = {}  # workflow and job env, then GITHUB_ENV
        self.result = JobResult(job_id, "success", workspace=self.workspace)
        minutes = float(job.get("timeout-minutes") or 360)
        self.deadline = time.monotonic() + minutes * 60

    # The contexts and the environment

    def contexts(self, env: Mapping[str, str] | None = None) -> dict[str, Any]:
        return {
            **self.run.contexts(),
            "github": self.run.github(self.workspace, self.job_id),
            "needs": self.needs,
            "env": dict(env if env is not None else self.global_env),
            "secrets": self.run.secrets,
            "steps": self.steps_context,
            "runner": {
                "os": "Linux",
                "arch": "X64",
                "name": "harness",
                "temp": str(self.temp),
                "tool_cache": str(self.tools),
                "environment": "self-hosted",
            },
            "job": {"status": self.status},
        }

    def machine_env(self) -> dict[str, str]:
        env = {name: os.environ[name] for name in MACHINE_VARIABLES if name in os.environ}
        env.update(self.run.machine_env)
        env["HOME"] = str(self.home)
        env["PATH"] = env.get("PATH") or _machine_path()
        if self.run.api is not None:
            fake = self.tools / "gh"
            if not fake.exists():
                fake.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_GH}" "$@"\n')
                fake.chmod(0o755)
            env["PATH"] = f"{self.tools}{os.pathsep}{env['PATH']}"
        return env

    def runner_env(self, step_index: int, step_id: str | None) -> dict[str, str]:
        github = self.run.github(self.workspace, self.job_id)
        return {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_ACTION": step_id or f"__run_{step_index}",
            "GITHUB_ACTOR": github["actor"],
            "GITHUB_TRIGGERING_ACTOR": github["triggering_actor"],
            "GITHUB_API_URL": github["api_url"],
            "GITHUB_GRAPHQL_URL": github["graphql_url"],
            "GITHUB_SERVER_URL": github["server_url"],
            "GITHUB_REPOSITORY": github["repository"],
            "GITHUB_REPOSITORY_OWNER": github["repository_owner"],
            "GITHUB_RUN_ID": github["run_id"],
            "GITHUB_RUN_NUMBER": github["run_number"],
            "GITHUB_RUN_ATTEMPT": github["run_attempt"],
            "GITHUB_EVENT_NAME": github["event_name"],
            "GITHUB_EVENT_PATH": str(self.event_path),
            "GITHUB_REF": github["ref"],
            "GITHUB_REF_NAME": github["ref_name"],
            "GITHUB_REF_TYPE": github["ref_type"],
            "GITHUB_SHA": github["sha"],
            "GITHUB_WORKFLOW": github["workflow"],
            "GITHUB_JOB": self.job_id,
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_HEAD_REF": "",
            "GITHUB_BASE_REF": "",
            "RUNNER_OS": "Linux",
            "RUNNER_ARCH": "X64",
            "RUNNER_NAME": "harness",
            "RUNNER_TEMP": str(self.temp),
            "RUNNER_TOOL_CACHE": str(self.tools),
        }

    def evaluate_env(self, mapping: Any, env: dict[str, str]) -> dict[str, str]:
        """An `env:` map, each value evaluated with the env context built so far."""
        evaluated = {}
        for name, value in (mapping or {}).items():
            value = interpolate_value(value, self.contexts({**env, **evaluated}), self.status)
            evaluated[str(name)] = to_string(value)
        return evaluated

    def defaults(self, key: str) -> Any:
        job = ((self.job.get("defaults") or {}).get("run") or {}).get(key)
        workflow = ((self.run.workflow.get("defaults") or {}).get("run") or {}).get(key)
        return job if job is not None else workflow

    # The job

    def perform(self) -> JobResult:
        try:
            self.global_env = self.evaluate_env(self.run.workflow.get("env"), {})
            self.global_env.update(self.evaluate_env(self.job.get("env"), self.global_env))
        except ExpressionError as error:
            self.result.result = "failure"
            self.result.message = f"its env: {error}"
            return self.result
        for index, step in enumerate(self.job.get("steps") or []):
            self.result.steps.append(self.step(index, step))
        self.result.result = self.status
        try:
            outputs = self.job.get("outputs") or {}
            contexts = self.contexts()
            self.result.outputs = {
                name: to_string(interpolate_value(value, contexts, self.status))
                for name, value in outputs.items()
            }
        except ExpressionError as error:
            self.result.result = "failure"
            self.result.message = f"its outputs: {error}"
        return self.result

    def step(self, index: int, step: dict[str, Any]) -> StepResult:
        uses = str(step["uses"]).split("@", 1)[0] if step.get("uses") else None
        name = str(step.get("name") or (f"Run {uses}" if uses else _first_line(step.get("run"))))
        step_id = step.get("id")
        result = StepResult(name, step_id, "skipped", "skipped", uses=uses)
        if time.monotonic() > self.deadline and self.status != "cancelled":
            self.status = "cancelled"
            self.result.message = "the job exceeded its timeout-minutes"
        try:
            runs = condition(step.get("if"), self.contexts(), self.status)
            if runs and name in self.run.checked_elsewhere:
                result.output = f"not run here: checked by {self.run.checked_elsewhere[name]}"
            elif runs:
                started = time.monotonic()
                self.execute(index, step, result)
                result.seconds = time.monotonic() - started
        except ExpressionError as error:
            result.outcome = "failure"
            result.error = str(error)
        result.conclusion = result.outcome
        if result.outcome == "failure" and self.continue_on_error(step):
            result.conclusion = "success"
        if result.conclusion == "failure" and self.status == "success":
            self.status = "failure"
        if step_id:
            self.steps_context[step_id] = {
                "outputs": result.outputs,
                "outcome": result.outcome,
                "conclusion": result.conclusion,
            }
        return result

    def continue_on_error(self, step: dict[str, Any]) -> bool:
        value = step.get("continue-on-error", False)
        return truthy(interpolate_value(value, self.contexts(), self.status))

    def execute(self, index: int, step: dict[str, Any], result: StepResult) -> None:
        step_env = self.evaluate_env(step.get("env"), self.global_env)
        env_context = {**self.global_env, **step_env}
        contexts = self.contexts(env_context)
        files = self.file_commands(index)
        process_env = {
            **self.machine_env(),
            **env_context,
            **self.runner_env(index, result.id),
            **{name.upper(): str(path) for name, path in files.items()},
        }
        process_env["PATH"] = os.pathsep.join([*reversed(self.path_entries), process_env["PATH"]])
        if "run" in step:
            self.run_script(step, contexts, process_env, result)
        elif result.uses:
            self.run_action(step, contexts, process_env, result)
        else:
            result.outcome = "failure"
            result.error = "a step needs run: or uses:"
            return
        try:
            self.apply_file_commands(files, result)
        except ActionFailed as error:
            result.outcome = "failure"
            result.error = f"a runner file command: {error}"

    def file_commands(self, index: int) -> dict[str, Path]:
        folder = self.temp / "_runner_file_commands"
        folder.mkdir(exist_ok=True)
        files = {}
        for name in ("github_output", "github_env", "github_path", "github_step_summary"):
            files[name] = folder / f"{name}_{index}"
            files[name].write_text("")
        return files

    def apply_file_commands(self, files: dict[str, Path], result: StepResult) -> None:
        result.outputs.update(_key_values(files["github_output"].read_text()))
        for name, value in _key_values(files["github_env"].read_text()).items():
            if name.startswith(("GITHUB_", "RUNNER_")):
                continue  # the runner's own variables cannot be changed
            self.global_env[name] = value
        for line in files["github_path"].read_text().splitlines():
            if line.strip():
                self.path_entries.append(line.strip())
        self.result.summary += files["github_step_summary"].read_text()

    def run_script(
        self, step: dict[str, Any], contexts: dict, env: dict[str, str], result: StepResult
    ) -> None:
        script = interpolate(str(step["run"]), contexts, self.status)
        shell = step.get("shell") or self.defaults("shell")
        template = SHELLS.get(shell, shell)
        if "{0}" not in template:
            raise ExpressionError(f"shell {shell!r} is not one harness.actions can run")
        directory = step.get("working-directory") or self.defaults("working-directory")
        cwd = (
            self.workspace / interpolate(str(directory), contexts) if directory else self.workspace
        )
        if not cwd.is_dir():
            result.outcome = "failure"
            result.error = f"working-directory {cwd} does not exist"
            return
        path = self.temp / f"step-{len(self.result.steps)}{SCRIPT_SUFFIX.get(shell, '.sh')}"
        path.write_text(script)
        command = template.replace("{0}", shlex.quote(str(path)))
        timeout = self.timeout(step)
        output, code, timed_out = _run_process(command, cwd, env, timeout)
        result.output = output
        self.result.annotations.extend(_annotations(output))
        result.outcome = "success" if code == 0 else "failure"
        if timed_out:
            result.error = f"the step exceeded its timeout ({timeout:.0f} s)"

    def timeout(self, step: dict[str, Any]) -> float:
        remaining = self.deadline - time.monotonic()
        minutes = step.get("timeout-minutes")
        step_timeout = float(minutes) * 60 if minutes is not None else remaining
        return max(1.0, min(step_timeout, remaining))

    def run_action(
        self, step: dict[str, Any], contexts: dict, env: dict[str, str], result: StepResult
    ) -> None:
        stand_in = self.run.stand_ins.get(result.uses or "")
        if stand_in is None:
            result.unsupported = True
            result.output = f"{result.uses} has no stand-in in harness.actions: skipped"
            return
        inputs = {
            str(key): to_string(interpolate_value(value, contexts, self.status))
            for key, value in (step.get("with") or {}).items()
        }
        call = ActionCall(
            result.uses or "", inputs, env, self.workspace, contexts["github"], self.run
        )
        try:
            stand_in(call)
            result.outcome = "success"
        except (ActionFailed, subprocess.CalledProcessError) as error:
            result.outcome = "failure"
            result.error = str(error)
        result.output = "\n".join(call.log)
        result.outputs.update(call.outputs)
        self.path_entries.extend(call.path_entries)
        self.global_env.update(call.env_updates)


def _run_process(
    command: str, cwd: Path, env: dict[str, str], timeout: float
) -> tuple[str, int, bool]:
    """Run a shell step in a session of its own, killed whole when it times out."""
    process = subprocess.Popen(
        ["/bin/sh", "-c", f"exec {command}"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
        return output, process.returncode, False
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return output, -1, True


def _key_values(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT/GITHUB_ENV: `name=value` lines and `name<<DELIMITER` blocks."""
    values = {}
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            block = []
            while index < len(lines) and lines[index] != delimiter:
                block.append(lines[index])
                index += 1
            if index == len(lines):
                raise ActionFailed(f"Matching delimiter not found '{delimiter}'")
            index += 1
            values[name] = "\n".join(block)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
        elif line.strip():
            raise ActionFailed(f"Invalid format '{line}'")
    return values


def _annotations(output: str) -> list[str]:
    found = []
    for line in output.splitlines():
        for kind in ("error", "warning", "notice"):
            if line.startswith(f"::{kind}") and "::" in line[2:]:
                found.append(f"{kind}: {line[2:].split('::', 1)[1]}")
    return found


def _machine_path() -> str:
    """The machine's PATH without the test suite's own virtual environment."""
    suite = {str(Path(sys.prefix) / "bin"), str(Path(sys.executable).parent)}
    if os.environ.get("VIRTUAL_ENV"):
        suite.add(str(Path(os.environ["VIRTUAL_ENV"]) / "bin"))
    entries = [entry for entry in os.environ.get("PATH", "").split(os.pathsep) if entry]
    return os.pathsep.join(entry for entry in entries if entry not in suite)


def _first_line(run: Any) -> str:
    lines = str(run or "").strip().splitlines()
    return f"Run {lines[0]}" if lines else "Run"


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _git(repository: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repository), *args], check=True, capture_output=True, text=True
    ).stdout
