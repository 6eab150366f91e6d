"""The harness that runs workflows as GitHub runs them (harness/actions.py), with its fake
GitHub API and fake gh: each behaviour its docstrings promise, on tiny workflows."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from harness.actions import ActionCall, Origin, WorkflowError, make_origin, run_job, run_workflow
from harness.expressions import ExpressionError, evaluate
from harness.github_api import FakeGitHub
from harness.matrix import pythons

WORKFLOW = ".github/workflows/test.yml"


def origin_with(tmp_path: Path, workflow: str, files: dict[str, str] | None = None) -> Origin:
    """A committed repository holding the workflow (and files), and its bare origin."""
    work = tmp_path / "work"
    (work / ".github" / "workflows").mkdir(parents=True)
    (work / WORKFLOW).write_text(workflow)
    for name, text in (files or {}).items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    git = ["git", "-C", str(work), "-c", "user.name=Dev", "-c", "user.email=dev@example.com"]
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main", str(work)], check=True)
    subprocess.run([*git, "add", "--all"], check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "Initial commit"], check=True)
    return make_origin(work, tmp_path / "origin.git", repository="octo-org/demo")


def test_default_shell_has_no_pipefail_and_shell_bash_has(tmp_path):
    origin = origin_with(
        tmp_path,
        """
on: push
jobs:
  default:
    runs-on: ubuntu-latest
    steps:
      - run: false | tee piped.log
      - run: echo "still running"
  strict:
    runs-on: ubuntu-latest
    defaults:
      run:
        shell: bash
    steps:
      - name: Pipe
        run: false | tee piped.log
      - name: After
        run: echo "never"
""",
    )
    result = run_workflow(origin, WORKFLOW, event="push", tmp=tmp_path)
    assert result["default"].ok, result["default"].report()
    assert "still running" in result["default"].steps[1].output
    strict = result["strict"]
    assert strict.result == "failure"
    assert strict.step("Pipe").outcome == "failure"
    assert strict.step("After").outcome == "skipped"


def test_outputs_flow_from_step_to_step_and_job_to_job(tmp_path):
    origin = origin_with(
        tmp_path,
        """
on: push
jobs:
  first:
    runs-on: ubuntu-latest
    outputs:
      answer: ${{ steps.compute.outputs.answer }}
      note: ${{ steps.compute.outputs.note }}
    steps:
      - id: compute
        run: |
          echo "answer=42" >> "$GITHUB_OUTPUT"
          { echo "note<<EOF"; echo "two"; echo "lines"; echo "EOF"; } >> "$GITHUB_OUTPUT"
      - run: test "${{ steps.compute.outputs.answer }}" = 42
  second:
    needs: first
    if: needs.first.outputs.answer == 42
    runs-on: ubuntu-latest
    steps:
      - run: echo "got ${{ needs.first.outputs.answer }} from ${{ needs.first.result }}"
  skipped:
    needs: first
    if: needs.first.outputs.answer == 'something else'
    runs-on: ubuntu-latest
    steps:
      - run: echo never
""",
    )
    result = run_workflow(origin, WORKFLOW, event="push", tmp=tmp_path).check()
    assert result["first"].outputs == {"answer": "42", "note": "two\nlines"}
    assert "got 42 from success" in result["second"].steps[0].output
    assert result["skipped"].result == "skipped"


def test_github_env_applies_to_later_steps_only_and_step_env_wins(tmp_path):
    origin = origin_with(
        tmp_path,
        """
on: push
env:
  LEVEL: workflow
jobs:
  job:
    runs-on: ubuntu-latest
    env:
      LEVEL: job
    steps:
      - name: Set
        run: |
          echo "COLOUR=blue" >> "$GITHUB_ENV"
          echo "LEVEL=github-env" >> "$GITHUB_ENV"
          echo "colour now: ${COLOUR:-unset}, level: $LEVEL"
      - name: Read
        run: echo "colour ${COLOUR}, level ${LEVEL}, context ${{ env.COLOUR }}"
      - name: Step env
        env:
          LEVEL: step
        run: echo "level ${LEVEL}"
""",
    )
    job = run_job(origin, WORKFLOW, "job", event="push", tmp=tmp_path).check()
    assert "colour now: unset, level: job" in job.step("Set").output
    assert "colour blue, level github-env, context blue" in job.step("Read").output
    assert "level step" in job.step("Step env").output


def test_failure_and_always_steps_run_after_a_failure(tmp_path):
    origin = origin_with(
        tmp_path,
        """
on: push
jobs:
  job:
    runs-on: ubuntu-latest
    steps:
      - name: Allowed to fail
        continue-on-error: true
        run: exit 3
      - name: Fails
        id: fails
        run: exit 1
      - name: Skipped
        run: echo never
      - name: On failure
        if: failure()
        run: echo "outcome ${{ steps.fails.outcome }}"
      - name: Always
        if: always() && steps.fails.conclusion == 'failure'
        run: echo always
      - name: Not cancelled
        if: ${{ !cancelled() && success() }}
        run: echo never
""",
    )
    job = run_job(origin, WORKFLOW, "job", event="push", tmp=tmp_path)
    assert job.result == "failure"
    outcomes = {step.name: (step.outcome, step.conclusion) for step in job.steps}
    assert outcomes == {
        "Allowed to fail": ("failure", "success"),
        "Fails": ("failure", "failure"),
        "Skipped": ("skipped", "skipped"),
        "On failure": ("success", "success"),
        "Always": ("success", "success"),
        "Not cancelled": ("skipped", "skipped"),
    }
    assert "outcome failure" in job.step("On failure").output
    with pytest.raises(AssertionError, match="Fails"):
        job.check()


def test_a_job_after_a_failed_one_runs_only_on_failure(tmp_path):
    origin = origin_with(
        tmp_path,
        """
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: exit 1
  deploy:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - run: echo never
  report:
    needs: deploy
    if: failure()
    runs-on: ubuntu-latest
    steps:
      - run: echo "reporting"
""",
    )
    result = run_workflow(origin, WORKFLOW, event="push", tmp=tmp_path)
    assert [job.result for job in result.jobs.values()] == ["failure", "skipped", "success"]
    assert result.result == "failure"


def test_checkout_gives_a_fresh_clone_and_a_push_lands_in_origin(tmp_path):
    origin = origin_with(
        tmp_path,
        """
on: push
jobs:
  write:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
      - run: |
          test "$(git rev-parse --is-shallow-repository)" = true
          date > untracked.txt
          echo "line" >> trail.txt
          if git commit -qam "No identity" 2>/dev/null; then exit 1; fi
          git config user.name "github-actions[bot]"
          git config user.email "41898282+github-actions[bot]@users.noreply.github.com"
          git commit -qam "Append a line"
          git push
  read:
    needs: write
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v7
        with:
          ref: main
          fetch-depth: 0
      - run: |
          test ! -e untracked.txt
          test "$(wc -l < trail.txt)" = 2
          test "$(git log --format=%s -1)" = "Append a line"
  read-no-credentials:
    needs: write
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v7
        with:
          persist-credentials: false
          fetch-depth: 0
      - run: |
          test "$(wc -l < trail.txt)" = 1
          git config user.name bot && git config user.email bot@example.com
          git commit -q --allow-empty -m "Try" && git push
""",
        files={"trail.txt": "first\n"},
    )
    before = origin.sha()
    result = run_workflow(origin, WORKFLOW, event="push", tmp=tmp_path)
    assert result["write"].ok and result["read"].ok, result["write"].report()
    assert origin.subjects()[:2] == ["Append a line", "Initial commit"]
    assert origin.show("trail.txt") == "first\nline\n"
    # Without ref, checkout takes the event's commit, and a push needs the credentials.
    refused = result["read-no-credentials"]
    assert refused.result == "failure" and "no-token-to-push-with" in refused.steps[1].output
    assert origin.sha() != before and len(origin.subjects()) == 2


def test_the_runner_does_not_leak_the_suites_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MAKELEVEL", "2")
    monkeypatch.setenv("SUITE_SECRET", "leaked")
    origin = origin_with(
        tmp_path,
        """
on: workflow_dispatch
jobs:
  job:
    runs-on: ubuntu-latest
    steps:
      - run: |
          test -z "${MAKELEVEL:-}" && test -z "${SUITE_SECRET:-}" && test -z "${VIRTUAL_ENV:-}"
          test "$CI" = true && test "$GITHUB_ACTIONS" = true
          test "$GITHUB_REPOSITORY" = octo-org/demo && test "$GITHUB_REF_NAME" = main
          test "$GITHUB_EVENT_NAME" = workflow_dispatch && test "$GITHUB_RUN_ID" = 7
          test "$GITHUB_SHA" = "${{ github.sha }}" && test -d "$RUNNER_TEMP"
          test "$GITHUB_WORKSPACE" = "$PWD" && test "$HOME" != /root
          test -z "$(git config --global user.email || true)"
          case ":$PATH:" in *":SUITE_BIN:"*) exit 1 ;; esac
          echo "input ${{ inputs.flag }} ${{ inputs.name }} ${{ github.event.inputs.flag }}"
          echo "vars ${{ vars.REGION }} secret ${{ secrets.TOKEN }} missing '${{ secrets.NOPE }}'"
          echo "branch ${{ github.event.repository.default_branch }}"
""".replace("on: workflow_dispatch", WITH_INPUTS).replace("SUITE_BIN", SUITE_BIN),
    )
    job = run_job(
        origin,
        WORKFLOW,
        "job",
        event="workflow_dispatch",
        tmp=tmp_path,
        run_id=7,
        inputs={"flag": True},
        vars={"REGION": "eu"},
        secrets={"TOKEN": "s3cret"},
    ).check()
    output = job.steps[0].output
    assert "input true default-name true" in output
    assert "vars eu secret s3cret missing ''" in output
    assert "branch main" in output
    with pytest.raises(WorkflowError, match="Unexpected inputs provided"):
        run_job(origin, WORKFLOW, "job", event="workflow_dispatch", tmp=tmp_path, inputs={"x": 1})


SUITE_BIN = str(Path(sys.executable).parent)
WITH_INPUTS = """
on:
  workflow_dispatch:
    inputs:
      flag:
        type: boolean
        default: false
      name:
        type: string
        default: default-name
"""


def test_working_directory_timeout_and_summary(tmp_path):
    origin = origin_with(
        tmp_path,
        """
on: push
jobs:
  job:
    runs-on: ubuntu-latest
    defaults:
      run:
        working-directory: sub
    steps:
      - uses: actions/checkout@v7
      - run: pwd && echo "## Report" >> "$GITHUB_STEP_SUMMARY" && echo "::error::it broke"
      - name: Slow
        timeout-minutes: 0.02
        continue-on-error: true
        run: sleep 30
      - run: echo "${{ runner.temp }}" && mkdir -p "$RUNNER_TEMP/bin"
      - run: echo "$RUNNER_TEMP/bin" >> "$GITHUB_PATH"
      - run: |
          printf '#!/bin/sh\\necho tool ran\\n' > "$RUNNER_TEMP/bin/tool"
          chmod +x "$RUNNER_TEMP/bin/tool"
      - run: tool
""",
        files={"sub/keep.txt": ""},
    )
    job = run_job(origin, WORKFLOW, "job", event="push", tmp=tmp_path).check()
    assert job.steps[1].output.strip().splitlines()[0].endswith("workspace/sub")
    assert job.summary == "## Report\n"
    assert job.annotations == ["error: it broke"]
    slow = job.step("Slow")
    assert slow.outcome == "failure" and "timeout" in slow.error
    assert "tool ran" in job.steps[-1].output


def test_unsupported_actions_are_listed_and_stand_ins_can_be_added(tmp_path):
    origin = origin_with(
        tmp_path,
        """
on: push
jobs:
  job:
    runs-on: ubuntu-latest
    steps:
      - uses: docker/setup-buildx-action@37fe631027851001ddb9b187196cc803df7f5f0e
      - id: build
        uses: docker/build-push-action@v7
        with:
          tags: ghcr.io/${{ github.repository }}:latest
      - run: echo "digest ${{ steps.build.outputs.digest }}"
""",
    )
    job = run_job(origin, WORKFLOW, "job", event="push", tmp=tmp_path)
    assert job.ok and job.unsupported == [
        "docker/setup-buildx-action",
        "docker/build-push-action",
    ]
    calls: list[ActionCall] = []

    def build(call: ActionCall) -> None:
        calls.append(call)
        call.outputs["digest"] = "sha256:abc"

    job = run_job(
        origin,
        WORKFLOW,
        "job",
        event="push",
        tmp=tmp_path,
        stand_ins={"docker/build-push-action": build},
    )
    assert job.unsupported == ["docker/setup-buildx-action"]
    assert calls[0].inputs == {"tags": "ghcr.io/octo-org/demo:latest"}
    assert "digest sha256:abc" in job.steps[2].output


def test_an_expression_error_fails_its_step_and_says_why(tmp_path):
    origin = origin_with(
        tmp_path,
        """
on: push
jobs:
  job:
    runs-on: ubuntu-latest
    steps:
      - name: Typo
        run: echo "${{ github.event_nmae == 'push' && unknownFunction() }}"
      - name: Reported
        if: failure()
        run: echo reported
""",
    )
    job = run_job(origin, WORKFLOW, "job", event="push", tmp=tmp_path)
    assert job.result == "failure"
    assert "Unrecognized function: 'unknownFunction'" in job.step("Typo").error
    assert job.step("Reported").outcome == "success"
    with pytest.raises(ExpressionError, match="Unrecognized named-value: 'gihtub'"):
        evaluate("gihtub.ref", {"github": {}})


def test_expressions_compare_as_github_does():
    contexts = {"github": {"event_name": "push", "run_id": "12"}, "steps": {}}
    assert evaluate("github.event_name == 'PUSH'", contexts) is True
    assert evaluate("github.run_id == 12 && github.RUN_ID > 11", contexts) is True
    assert evaluate("steps.missing.outputs.x == ''", contexts) is True
    assert evaluate("github.event_name == 'push' && 'yes' || 'no'", contexts) == "yes"
    assert evaluate("format('{0}-{1}', 'a', 1)", contexts) == "a-1"
    assert evaluate("contains(fromJSON('[\"a\", \"b\"]'), 'B')", contexts) is True
    assert evaluate("toJSON(fromJSON('{\"a\": [1]}'))", contexts) == '{\n  "a": [\n    1\n  ]\n}'
    assert evaluate('fromJSON(\'[{"n": 1}, {"n": 2}]\').*.n', contexts) == [1, 2]


def test_fake_api_answers_environments_approvals_issues_and_dispatches(tmp_path):
    with FakeGitHub("octo-org/demo") as api:
        api.add_environment("production", reviewers=["alice"], prevent_self_review=True)
        api.add_environment("staging")
        api.add_run(5, actor="bob")
        api.approve(5, "alice", comment="ship it")
        with pytest.raises(ValueError, match="not a required reviewer"):
            api.approve(5, "mallory")

        def call(method, path, body=None, token=api.token):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            data = json.dumps(body).encode() if body is not None else None
            request = urllib.request.Request(
                api.url + path, data=data, headers=headers, method=method
            )
            try:
                with urllib.request.urlopen(request) as response:
                    raw = response.read()
                    return response.status, json.loads(raw) if raw else None
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read())

        status, production = call("GET", "/repos/octo-org/demo/environments/production")
        (rule,) = production["protection_rules"]
        assert rule["type"] == "required_reviewers" and rule["prevent_self_review"] is True
        (reviewer,) = rule["reviewers"]
        assert reviewer["type"] == "User" and reviewer["reviewer"]["login"] == "alice"
        assert call("GET", "/repos/octo-org/demo/environments/staging")[1]["protection_rules"] == []
        assert call("GET", "/repos/octo-org/demo/environments/nope")[0] == 404
        status, approvals = call("GET", "/repos/octo-org/demo/actions/runs/5/approvals")
        assert status == 200 and len(approvals) == 1
        assert approvals[0]["state"] == "approved" and approvals[0]["comment"] == "ship it"
        assert approvals[0]["user"]["login"] == "alice"
        assert approvals[0]["environments"][0]["name"] == "production"
        assert call("GET", "/repos/octo-org/demo/actions/runs/5")[1]["actor"]["login"] == "bob"
        assert call("GET", "/repos/octo-org/demo")[1]["default_branch"] == "main"

        status, issue = call("POST", "/repos/octo-org/demo/issues", {"title": "T", "body": "B"})
        assert status == 201 and issue["number"] == 1 and issue["state"] == "open"
        call("POST", "/repos/octo-org/demo/issues/1/comments", {"body": "more"})
        call("PATCH", "/repos/octo-org/demo/issues/1", {"state": "closed"})
        assert api.issue(1)["state"] == "closed" and api.issue(1)["comments"] == 1
        assert call("GET", "/repos/octo-org/demo/issues")[1] == []
        assert len(call("GET", "/repos/octo-org/demo/issues?state=all")[1]) == 1
        assert call("POST", "/repos/octo-org/demo/dispatches", {"event_type": "go"})[0] == 204
        assert api.dispatches == [{"event_type": "go", "client_payload": {}}]

        assert call("GET", "/repos/octo-org/demo/issues", token="")[0] == 401
        assert call("GET", "/repos/octo-org/demo/issues", token="wrong")[0] == 401
        assert call("GET", "/repos/other/repo/issues")[0] == 404
        assert len(api.calls("GET", r"/repos/octo-org/demo/issues")) == 4


def test_fake_gh_creates_issues_and_calls_the_api_from_a_job(tmp_path):
    origin = origin_with(
        tmp_path,
        """
on: push
jobs:
  report:
    runs-on: ubuntu-latest
    env:
      GH_TOKEN: ${{ github.token }}
    steps:
      - name: Open an issue
        env:
          RUN_URL: ${{ github.server_url }}/${{ github.repository }}/actions/runs/${{github.run_id}}
        run: >-
          gh issue create --repo "$GITHUB_REPOSITORY" --title "Retraining failed"
          --body "See $RUN_URL" --label ops
      - name: Comment and list
        run: |
          gh issue comment 1 --repo "$GITHUB_REPOSITORY" --body "Still failing"
          gh issue list --repo "$GITHUB_REPOSITORY" --label ops \\
            --json number,title --jq '.[0].title'
      - name: Dispatch
        run: gh api "repos/$GITHUB_REPOSITORY/dispatches" -f event_type=drift-detected
      - name: Approvals
        run: |
          gh api "repos/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID/approvals" \\
            --jq '.[] | select(.state == "approved") | .user.login'
      - name: Without a token
        env:
          GH_TOKEN: ""
        run: gh issue list --repo "$GITHUB_REPOSITORY"
""",
    )
    with FakeGitHub("octo-org/demo") as api:
        api.add_environment("production", reviewers=["alice"])
        api.add_run(9)
        api.approve(9, "alice")
        job = run_job(origin, WORKFLOW, "report", event="push", tmp=tmp_path, api=api, run_id=9)
    assert [step.outcome for step in job.steps] == ["success"] * 4 + ["failure"]
    assert job.step("Open an issue").output.strip() == "https://github.com/octo-org/demo/issues/1"
    issue = api.issue(1)
    assert issue["title"] == "Retraining failed" and issue["labels"][0]["name"] == "ops"
    assert issue["body"] == "See https://github.com/octo-org/demo/actions/runs/9"
    assert "Retraining failed" in job.step("Comment and list").output
    assert api.dispatches[-1]["event_type"] == "drift-detected"
    assert job.step("Approvals").output.strip() == "alice"
    assert "set the GH_TOKEN environment variable" in job.step("Without a token").output


def test_a_job_of_a_protected_environment_waits_for_an_approval(tmp_path):
    origin = origin_with(
        tmp_path,
        """
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo built
  promote:
    needs: build
    runs-on: ubuntu-latest
    environment: production
    steps:
      - run: echo promoted
  after:
    needs: promote
    runs-on: ubuntu-latest
    steps:
      - run: echo after
""",
    )
    with FakeGitHub("octo-org/demo") as api:
        api.add_environment("production", reviewers=["alice", "bob"], prevent_self_review=True)
        waiting = run_workflow(
            origin, WORKFLOW, event="push", tmp=tmp_path, api=api, run_id=1, actor="alice"
        )
        assert waiting.result == "waiting" and "alice, bob" in waiting["promote"].message
        assert waiting["after"].result == "waiting" and waiting["build"].ok
        with pytest.raises(ValueError, match="prevents self-review"):
            api.approve(1, "alice")
        api.approve(1, "bob", comment="go")
        resumed = run_workflow(
            origin, WORKFLOW, event="push", tmp=tmp_path, api=api, resume=waiting
        ).check()
        assert resumed["build"] is waiting["build"] and resumed.run_id == 1
        assert api.runs[1]["status"] == "completed" and api.runs[1]["conclusion"] == "success"
        assert "promoted" in resumed["promote"].steps[0].output
        api.add_run(2, actor="alice")
        api.approve(2, "bob", state="rejected")
        rejected = run_workflow(origin, WORKFLOW, event="push", tmp=tmp_path, api=api, run_id=2)
        assert rejected["promote"].result == "failure" and rejected["after"].result == "skipped"


def test_workflows_the_harness_cannot_run_are_refused_by_name(tmp_path):
    origin = origin_with(
        tmp_path,
        """
on: push
jobs:
  job:
    runs-on: ubuntu-latest
    services:
      db:
        image: postgres
    steps:
      - run: echo never
""",
    )
    with pytest.raises(WorkflowError, match="uses `services:`"):
        run_workflow(origin, WORKFLOW, event="push", tmp=tmp_path)
    with pytest.raises(WorkflowError, match="has no job 'nope'"):
        run_job(origin, WORKFLOW, "nope", event="push", tmp=tmp_path)
    with pytest.raises(WorkflowError, match="does not run on schedule, only on: push"):
        run_job(origin, WORKFLOW, "job", event="schedule", tmp=tmp_path)


def test_push_filters_and_dispatch_types_decide_whether_the_workflow_runs(tmp_path):
    origin = origin_with(
        tmp_path,
        """
on:
  push:
    tags: ["v*"]
  repository_dispatch:
    types: [drift-detected]
jobs:
  job:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v7
      - run: echo "on ${{ github.ref_name }} ${{ github.event.action }}" && git status
""",
    )
    work = origin.clone(tmp_path / "clone")
    subprocess.run(["git", "-C", str(work), "tag", "v1.0.0"], check=True)
    subprocess.run(["git", "-C", str(work), "push", "-q", "origin", "v1.0.0"], check=True)
    job = run_job(origin, WORKFLOW, "job", event="push", ref="refs/tags/v1.0.0", tmp=tmp_path)
    assert "on v1.0.0" in job.check().steps[1].output
    assert "HEAD detached at" in job.steps[1].output
    with pytest.raises(WorkflowError, match="push filters leave out refs/heads/main"):
        run_job(origin, WORKFLOW, "job", event="push", tmp=tmp_path)
    dispatched = run_job(
        origin,
        WORKFLOW,
        "job",
        event="repository_dispatch",
        payload={"action": "drift-detected"},
        tmp=tmp_path,
    )
    assert "on main drift-detected" in dispatched.check().steps[1].output
    with pytest.raises(WorkflowError, match="repository_dispatch of types"):
        run_job(origin, WORKFLOW, "job", event="repository_dispatch", tmp=tmp_path)


def test_artifacts_pass_between_jobs_and_shells_run_their_scripts(tmp_path):
    origin = origin_with(
        tmp_path,
        """
on: push
jobs:
  make:
    runs-on: ubuntu-latest
    steps:
      - run: |
          mkdir -p reports && echo '{"drifted": true}' > reports/drift.json
      - uses: actions/upload-artifact@v7
        with:
          name: drift-report
          path: reports/drift.*
      - uses: actions/upload-artifact@v7
        with:
          name: nothing
          path: missing/*
          if-no-files-found: error
        continue-on-error: true
  use:
    needs: make
    runs-on: ubuntu-latest
    steps:
      - uses: actions/download-artifact@v7
        with:
          name: drift-report
      - name: Python
        shell: python
        run: |
          import json
          print("drifted", json.load(open("drift.json"))["drifted"])
      - name: Custom
        shell: bash --noprofile --norc {0} extra
        run: echo "custom $0"
""",
    )
    result = run_workflow(origin, WORKFLOW, event="push", tmp=tmp_path).check()
    assert "No files were found" in result["make"].steps[2].error
    assert "drifted True" in result["use"].step("Python").output
    assert "custom " in result["use"].step("Custom").output


def test_setup_uv_and_setup_python_put_the_machines_tools_on_path(tmp_path):
    version, interpreter = next(iter(pythons().items()))
    origin = origin_with(
        tmp_path,
        f"""
on: push
jobs:
  job:
    runs-on: ubuntu-latest
    steps:
      - uses: astral-sh/setup-uv@v7
        with:
          python-version: "{version}"
      - uses: actions/setup-python@v6
        id: python
        with:
          python-version: "{version}"
      - run: |
          uv --version && test "$UV_PYTHON" = {version}
          python --version
          echo "path ${{{{ steps.python.outputs.python-path }}}}"
""",
    )
    job = run_job(origin, WORKFLOW, "job", event="push", tmp=tmp_path).check()
    assert f"Python {version}." in job.steps[2].output
    assert f"path {interpreter}" in job.steps[2].output


def test_fake_gh_opens_a_pull_request_once_per_branch_and_edits_it(tmp_path):
    origin = origin_with(
        tmp_path,
        """
on: workflow_dispatch
jobs:
  job:
    runs-on: ubuntu-latest
    env:
      GH_TOKEN: ${{ github.token }}
    steps:
      - run: |
          echo "First body" > "$RUNNER_TEMP/body.md"
          gh pr create --title "Release 2" --body-file "$RUNNER_TEMP/body.md" --head update/2
          echo "Second body" > "$RUNNER_TEMP/body.md"
          if gh pr create --title "Again" --body x --head update/2; then exit 1; fi
          gh pr edit update/2 --body-file "$RUNNER_TEMP/body.md"
""",
    )
    with FakeGitHub("octo-org/demo") as api:
        job = run_job(origin, WORKFLOW, "job", event="workflow_dispatch", tmp=tmp_path, api=api)
    assert "A pull request already exists for octo-org/demo:update/2" in job.check().log
    (pull,) = api.pulls
    assert (pull["title"], pull["body"]) == ("Release 2", "Second body\n")
    assert (pull["head"]["ref"], pull["base"]["ref"]) == ("update/2", "main")


def test_steps_checked_elsewhere_are_reported_and_not_run(tmp_path):
    origin = origin_with(
        tmp_path,
        """
on: push
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - name: Test
        run: touch tested && false
      - name: After
        run: test ! -e tested && echo "after the test"
""",
    )

    def check(folder: str, elsewhere: dict[str, str]):
        return run_job(
            origin,
            WORKFLOW,
            "check",
            event="push",
            tmp=tmp_path / folder,
            checked_elsewhere=elsewhere,
        )

    job = check("runner", {"Test": "test_the_suite"})
    assert job.ok, job.report()
    assert job.step("Test").outcome == "skipped"
    assert job.step("Test").output == "not run here: checked by test_the_suite"
    assert "after the test" in job.step("After").output
    with pytest.raises(WorkflowError, match="job check has no step named 'Lint'"):
        check("other", {"Lint": "test_the_suite"})
