"""Every variant renders exactly its files, with no template residue."""

from __future__ import annotations

import ast
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from extensions.ladder import (
    ASKED_FROM,
    CLOUD_REMOTES,
    FEATURES,
    asked,
    choices,
    pipeline_stages,
)
from harness.matrix import (
    FEATURE_FILES,
    FEATURE_TARGETS,
    LINE_FEATURES,
    ROOT,
    Variant,
    expected_files,
    params,
    rendered_only,
    variants,
)
from harness.oidc import OidcIssuer
from harness.project import Project, render
from tests.generated.base import step_script
from tests.imports import back_arrows, cycles, import_graph, template_levels

# Jinja left behind. Not residue: GitHub's ${{ }}, and the {{ }} that Prometheus and
# Grafana render themselves: Go templates on $value or $labels in alert annotations
# ({{ $value }}), label names in a legend ({{route}}, no spaces, unlike the template's),
# and the arguments Argo Rollouts fills in an analysis ({{args.canary-hash}}).
RESIDUE = re.compile(r"(?<!\$)\{\{(?! ?\$)(?!\w+\}\})(?!args\.[\w-]+\}\})|\{%|\{#|\.jinja\b")
# A line that changes with the answers: a Jinja branch (names and values are not).
BRANCH = re.compile(r"\{%-?\s*(?:if|elif|else|for)\b")
PACKAGE_SRC = ROOT / "template" / "src" / "{{ package_name }}"
WIRING = "wiring.py.jinja"


@pytest.fixture(
    scope="module",
    params=[*params(), *(pytest.param(v, id=v.id) for v in rendered_only())],
)
def rendered(request, template, tmp_path_factory) -> tuple[Variant, Project]:
    """Each variant rendered once for the checks below."""
    variant = request.param
    return variant, render(template, tmp_path_factory.mktemp(variant.id), **variant.answers)


def test_renders_exact_file_set(rendered):
    variant, project = rendered
    package = project.answers["package_name"]
    assert project.files() == expected_files(variant.has, package)


def test_no_template_residue(rendered):
    _, project = rendered
    leftovers = [
        f"{path}: {match.group()!r}"
        for path in sorted(project.files())
        if not path.endswith(".csv")
        for match in [RESIDUE.search((project.path / path).read_text(encoding="utf-8"))]
        if match
    ]
    assert not leftovers


def test_answers_file_records_only_the_questions_asked(template, rendered):
    variant, project = rendered
    answers = project.answers
    assert answers["mlops_level"] == variant.level
    assert answers["_src_path"] == str(template)
    for question in ASKED_FROM:
        if asked(question, variant.answers):
            assert answers[question] == variant.answers.get(question), question
        else:
            assert question not in answers, f"{question} is not asked at level {variant.level}"


def test_only_the_wiring_module_changes_lines_by_level():
    """In src/, a level adds whole files; the wiring module alone has lines that switch."""
    switched = sorted(
        str(path.relative_to(PACKAGE_SRC))
        for path in PACKAGE_SRC.rglob("*.jinja")
        if BRANCH.search(path.read_text(encoding="utf-8"))
    )
    assert switched == [WIRING], f"only {WIRING} may switch lines on features: {switched}"


def test_the_package_imports_without_cycles_or_back_arrows(rendered):
    """No module imports one that imports it back, and no module of a level imports one of
    a higher level; the wiring module, which names every level's parts, aside: it imports
    them only inside its functions, when a job asks, so a part may ask it back (the audit
    trail asks where else to keep its heads)."""
    _, project = rendered
    package = project.answers["package_name"]
    hub = f"{package}.wiring"
    graph = import_graph(project.path / "src", package)
    loaded = import_graph(project.path / "src", package, lazy=False)
    assert not cycles({**graph, hub: loaded[hub]})
    levels = template_levels(ROOT / "template" / "src", package)
    assert set(graph) <= set(levels), "every module comes from a template file"
    assert not back_arrows(graph, levels, hub=hub)


def test_every_runner_of_the_pipeline_runs_the_stages_in_one_order(rendered):
    """`make pipeline` (wiring.STAGES), dvc.yaml and the Kubeflow pipeline run the stages
    that the feature table gives the project, in its order."""
    variant, project = rendered
    if not variant.has.pipeline:
        return
    order = list(pipeline_stages(variant.has))
    wiring = ast.parse((project.path / "src" / project.package / "wiring.py").read_text())
    (stages,) = [
        node.value
        for node in wiring.body
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "STAGES"
    ]
    assert ast.literal_eval(stages) == tuple(order)
    if variant.has.dvc:
        dvc = yaml.safe_load((project.path / "dvc.yaml").read_text())
        assert list(dvc["stages"]) == order
    if variant.has.kubeflow:
        kubeflow = (project.path / "pipelines" / "kubeflow.py").read_text()
        assert f"STAGES = [snapshot, {', '.join(order)}]" in kubeflow


def test_matrix_covers_every_level_and_serving_choice():
    ids = [variant.id for variant in variants()]
    assert ids[0] == "L1"
    assert {"L2-batch", "L2-online"} <= set(ids)
    assert len(ids) == len(set(ids))


def test_the_template_switches_on_exactly_the_features_of_the_table():
    """Every `has.<feature>` the template tests exists, and every feature is used."""
    used = set()
    for path in (ROOT / "template").rglob("*"):
        text = path.name + (path.read_text(encoding="utf-8") if path.suffix == ".jinja" else "")
        used |= set(re.findall(r"\bhas\.([a-z_]+)", text))
    used |= set(re.findall(r"\bhas\.([a-z_]+)", (ROOT / "copier.yml").read_text()))
    assert used == set(FEATURES)


def test_the_test_matrix_knows_only_features_of_the_table():
    assert set(FEATURE_FILES) == set(FEATURES)
    assert all(FEATURE_FILES[name] for name in set(FEATURES) - LINE_FEATURES), "files of its own"
    assert set(FEATURE_TARGETS) <= set(FEATURES)


def test_every_answer_is_rendered_somewhere():
    rendered = {pair for variant in [*variants(), *rendered_only()] for pair in variant.choices}
    for question in ASKED_FROM:
        assert {(question, value) for value in choices(question)} <= rendered, question


def test_a_cloud_remote_is_configured_from_the_environment(rendered):
    variant, project = rendered
    if not variant.has.cloud_remote:
        return
    remote = CLOUD_REMOTES[project.answers["data_remote"]]
    config = (project.path / ".dvc" / "config").read_text()
    assert f"url = {remote.scheme}://DVC_REMOTE_URL-not-set/" in config
    assert f'"dvc[{remote.extra}]>=' in (project.path / "pyproject.toml").read_text()


# The secrets a workflow may read: none of them a cloud key.
WORKFLOW_SECRETS = {"MLFLOW_TRACKING_URI", "GITHUB_TOKEN", "KUBECONFIG"}
LOGIN = "bash .github/scripts/cloud-credentials.sh"


def test_every_job_reaches_the_cloud_remote_with_its_oidc_token(rendered):
    """No cloud key in any workflow: each job that pulls or pushes logs in first with the
    job's OIDC token (`id-token: write`), the login's repository variables passed on."""
    variant, project = rendered
    if not variant.has.cloud_remote:
        return
    remote = CLOUD_REMOTES[project.answers["data_remote"]]
    reaching = 0
    for path in sorted((project.path / ".github" / "workflows").glob("*.yml")):
        text = path.read_text()
        assert set(re.findall(r"secrets\.(\w+)", text)) <= WORKFLOW_SECRETS, path.name
        for name, job in yaml.safe_load(text)["jobs"].items():
            runs = [step.get("run", "") for step in job.get("steps", [])]
            remote_steps = [i for i, run in enumerate(runs) if "make remote" in run]
            if not remote_steps:
                assert LOGIN not in runs, (path.name, name)
                continue
            reaching += 1
            login = runs.index(LOGIN)
            assert login < remote_steps[0], (path.name, name)
            assert job["permissions"]["id-token"] == "write", (path.name, name)
            expected = {variable: f"${{{{ vars.{variable} }}}}" for variable in remote.variables}
            assert job["steps"][login]["env"] == expected, (path.name, name)
    assert reaching >= 1


def login_values(data_remote: str) -> dict[str, str]:
    values = {name: f"test-{name.lower()}" for name in CLOUD_REMOTES[data_remote].variables}
    if data_remote == "gcs":
        values["GCP_WORKLOAD_IDENTITY_PROVIDER"] = (
            "projects/123/locations/global/workloadIdentityPools/github/providers/actions"
        )
    return values


def run_login(
    project: Project, runner: Path, env: dict[str, str], login: str = LOGIN
) -> tuple[int, str, dict]:
    """The login as its step runs it (`shell: bash`), with the runner's env files; its exit
    status, its output and the variables it wrote to $GITHUB_ENV."""
    runner.mkdir()
    github_env = runner / "github_env"
    github_env.touch()
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", login],
        cwd=project.path,
        env={
            "PATH": os.environ["PATH"],
            "RUNNER_TEMP": str(runner),
            "GITHUB_ENV": str(github_env),
            "GITHUB_RUN_ID": "7",
            **env,
        },
        capture_output=True,
        text=True,
    )
    lines = github_env.read_text().splitlines()
    return done.returncode, done.stdout + done.stderr, dict(line.split("=", 1) for line in lines)


def test_the_cloud_login_hands_the_sdk_a_token_file_and_names_what_is_missing(rendered, tmp_path):
    """The login script fetches the job's token for the cloud's audience into a file only
    the runner's user reads, and sets what the cloud's SDK reads (AWS: the role and the
    token file; Google: an external-account configuration; Azure: workload identity). A
    variable not set, or a job without `id-token: write`, fails it in one line and
    leaves $GITHUB_ENV untouched."""
    variant, project = rendered
    if not variant.has.cloud_remote:
        return
    data_remote = project.answers["data_remote"]
    values = login_values(data_remote)
    with OidcIssuer() as issuer:
        status, output, written = run_login(project, tmp_path / "ok", {**issuer.env, **values})
        assert status == 0, output
        token_file = tmp_path / "ok" / f"oidc-token-{data_remote}"
        assert token_file.read_text() == issuer.issued[-1]
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        if data_remote == "s3":
            assert issuer.audiences == ["sts.amazonaws.com"]
            assert written == {
                "AWS_ROLE_ARN": values["AWS_ROLE_ARN"],
                "AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file),
                "AWS_ROLE_SESSION_NAME": "github-7",
            }
        elif data_remote == "gcs":
            provider = values["GCP_WORKLOAD_IDENTITY_PROVIDER"]
            assert issuer.audiences == [f"https://iam.googleapis.com/{provider}"]
            config_file = Path(written.pop("GOOGLE_APPLICATION_CREDENTIALS"))
            assert written == {} and stat.S_IMODE(config_file.stat().st_mode) == 0o600
            config = json.loads(config_file.read_text())
            assert config["type"] == "external_account"
            assert config["audience"] == f"//iam.googleapis.com/{provider}"
            assert config["credential_source"] == {"file": str(token_file)}
            account = values["GCP_SERVICE_ACCOUNT"]
            assert (
                f"/serviceAccounts/{account}:generateAccessToken"
                in (config["service_account_impersonation_url"])
            )
        else:
            assert issuer.audiences == ["api://AzureADTokenExchange"]
            assert written == {**values, "AZURE_FEDERATED_TOKEN_FILE": str(token_file)}
        for name in values:
            status, output, written = run_login(
                project, tmp_path / f"no-{name}", {**issuer.env, **values, name: ""}
            )
            assert status == 1 and written == {}, output
            assert f"::error::Set the repository variable {name} " in output
        status, output, written = run_login(project, tmp_path / "no-token", values)
        assert status != 0 and written == {}, output
        assert "give it `permissions: id-token: write`" in output
        assert issuer.refused == 0


@pytest.mark.parametrize(("data_remote", "level"), [("gcs", 4), ("local", 3), ("s3", 3)])
def test_the_jobs_that_commit_the_trail_write_its_heads_to_the_locked_bucket(
    template, tmp_path, data_remote, level
):
    """audit_anchor=s3-object-lock: the jobs that commit the audit trail (CD's promote; at
    level 4 the drift check and retraining too) take AUDIT_BUCKET from the repository's
    variables and log in to AWS with their OIDC token before they write an event (the data
    remote's own login, when it is S3), beside any other cloud's login. No other job
    writes to the bucket: a head there is permanent, and CI's trail is never committed."""
    project = render(
        template,
        tmp_path / "ledger",
        project_name="Ledger",
        mlops_level=level,
        data_remote=data_remote,
        audit_anchor="s3-object-lock",
    )
    writers = {("cd.yml", "promote")}
    if level == 4:
        writers |= {("drift.yml", "check"), ("retrain.yml", "retrain")}
    aws_login = f"{LOGIN} s3" if data_remote not in ("local", "s3") else LOGIN
    workflows = sorted((project.path / ".github" / "workflows").glob("*.yml"))
    found = set()
    for path in workflows:
        for name, job in yaml.safe_load(path.read_text())["jobs"].items():
            runs = [step.get("run", "") for step in job.get("steps", [])]
            if (path.name, name) not in writers:
                assert "AUDIT_BUCKET" not in job.get("env", {}), (path.name, name)
                if data_remote == "local":  # no other cloud: no login at all
                    assert LOGIN not in runs, (path.name, name)
                continue
            found.add((path.name, name))
            assert job["env"]["AUDIT_BUCKET"] == "${{ vars.AUDIT_BUCKET }}", (path.name, name)
            assert job["permissions"]["id-token"] == "write", (path.name, name)
            writes = next(
                index
                for index, run in enumerate(runs)
                if re.search(r" promote |drift --current|make retrain", run)
            )
            assert runs.index("make setup") < runs.index(aws_login) < writes, (path.name, name)
    assert found == writers
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "actionlint"), *map(str, workflows)],
        cwd=project.path,
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout
    # The AWS login as the step runs it, with the job's token: the audit anchor's, or the
    # data's and the anchor's at once.
    role = "arn:aws:iam::123456789012:role/ledger-audit"
    with OidcIssuer() as issuer:
        status, output, written = run_login(
            project, tmp_path / "aws", {**issuer.env, "AWS_ROLE_ARN": role}, aws_login
        )
        assert status == 0, output
        reaches = "DVC" if data_remote == "s3" else "The audit anchor"
        assert f"{reaches} reaches S3 as the role {role}" in output
        assert issuer.audiences == ["sts.amazonaws.com"]
        assert written == {
            "AWS_ROLE_ARN": role,
            "AWS_WEB_IDENTITY_TOKEN_FILE": str(tmp_path / "aws" / "oidc-token-s3"),
            "AWS_ROLE_SESSION_NAME": "github-7",
        }
        status, output, written = run_login(
            project, tmp_path / "other", {**issuer.env, "AWS_ROLE_ARN": role}, f"{LOGIN} ftp"
        )
        assert status == 2 and written == {}
        assert "::error::No login for 'ftp'" in output


def test_only_the_jobs_that_push_keep_the_checkouts_credentials(rendered):
    """A checkout keeps the job's token in the clone's git config only where the job may
    push (`contents: write`: the jobs that commit the audit trail, the template update);
    every other job drops it, so no step of theirs can push with it."""
    variant, project = rendered
    checkouts = 0
    for path in sorted((project.path / ".github" / "workflows").glob("*.yml")):
        workflow = yaml.safe_load(path.read_text())
        for name, job in workflow["jobs"].items():
            permissions = job.get("permissions", workflow.get("permissions") or {})
            pushes = permissions.get("contents") == "write"
            for step in job.get("steps", []):
                if step.get("uses", "").startswith("actions/checkout@"):
                    checkouts += 1
                    keeps = (step.get("with") or {}).get("persist-credentials", True)
                    assert keeps is pushes, (path.name, name)
    assert checkouts >= (1 if variant.has.ci else 0)


def test_every_workflow_fails_on_a_failed_command_and_retraining_names_what_it_needs(
    rendered, tmp_path
):
    """GitHub's `bash` shell (-eo pipefail) in every workflow, so a job that fails in a pipe
    fails its step; and a retrain workflow that has no source to train on fails at once,
    in one line naming the repository variable to set, rather than in a stage."""
    variant, project = rendered
    workflows = sorted((project.path / ".github" / "workflows").glob("*.yml"))
    for workflow in workflows:
        assert yaml.safe_load(workflow.read_text())["defaults"] == {"run": {"shell": "bash"}}
    if not variant.has.continuous_training:
        return
    retrain = project.path / ".github" / "workflows" / "retrain.yml"
    jobs = yaml.safe_load(retrain.read_text())["jobs"]
    variable = "KFP_HOST" if variant.has.kubeflow else "DATA_SOURCE"
    assert jobs["retrain"]["env"][variable] == f"${{{{ vars.{variable} }}}}"
    steps = {step.get("name"): step.get("run", "") for step in jobs["retrain"]["steps"]}
    assert "data/raw/data.csv.dvc dvc.lock" in steps["Commit the records of this training"]
    pushes = variant.has.cloud_remote and not variant.has.kubeflow
    assert any(run == "make push" for run in steps.values()) == pushes
    names = list(steps)
    check = next(name for name in names if name and name.startswith("Check the"))
    assert names.index(check) < names.index("Train a challenger")
    result = subprocess.run(
        step_script(retrain, "retrain", check),
        env={"PATH": os.environ["PATH"], variable: ""},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and result.stdout.splitlines() == [
        f"::error::No {'cluster' if variant.has.kubeflow else 'data'} to train on: set the "
        f"repository variable {variable} (see the top of this file)."
    ]
