"""A generated project's pods and jobs run as their manifests run them, without a cluster.

`pod_spec` reads a container of a built overlay: its command, its environment (values,
ConfigMap keys, the downward API's namespace) and its volume mounts. `start_in_pod` then
runs that command the way the kubelet would, in a mount namespace of its own
(`unshare -m`, as root): a root filesystem that is read-only (the host's system folders
bound read-only, the project bound read-only at the image's WORKDIR), writable only at
the volumes the manifest mounts (each a folder of the test's, given to the pod's
fsGroup as the kubelet does), as the manifest's user and group, with the manifest's
environment and the image's ENV and nothing else. Whatever the job writes outside its
volumes fails there as it would in the pod.

`mlflow_server` starts a real MLflow tracking server (the project's own `mlflow server`,
artifacts served through it) on a free loopback port, for the jobs to talk to.

`WorkflowJob` runs a GitHub workflow job's `run` steps as the runner does: in a fresh
clone, each step a script run by `bash -e` (the default shell), with the workflow's,
job's and step's `env` and the runner's env files (GITHUB_OUTPUT, GITHUB_ENV,
RUNNER_TEMP). `uses:` steps are the runner's set-up; the project's env stands in.
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import shutil
import stat
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

from harness.project import Project, free_port
from tests.dockerfile import instructions, read_image
from tests.prometheus import running, wait_for

# A Debian image's PATH, which the Dockerfile's ENV PATH="...:$PATH" extends.
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The host's folders a pod's root sees (read-only): its system, its interpreters.
SYSTEM = ("bin", "sbin", "lib", "lib32", "lib64", "usr", "etc", "root", "opt", "var")
DEVICES = ("dev", "proc", "sys")


@dataclass(frozen=True)
class Mount:
    path: str  # in the container
    volume: str
    read_only: bool


@dataclass(frozen=True)
class PodSpec:
    command: list[str]
    env: dict[str, str]
    mounts: list[Mount]
    read_only_root: bool
    user: int  # runAsUser
    group: int  # runAsGroup
    fs_group: int | None  # owns the pod's volumes


def pod_spec(
    objects: list[dict], pod: dict, container: str, services: dict[str, str]
) -> tuple[PodSpec, dict[str, str]]:
    """The container's command, env and mounts; and the ConfigMap keys it read.

    `services` replaces the values of ConfigMap keys that name cluster services (the
    tracking server, the Pushgateway) with the test's own servers.
    """
    (spec,) = [item for item in pod["spec"]["containers"] if item["name"] == container]
    configs = {
        item["metadata"]["name"]: item.get("data", {})
        for item in objects
        if item["kind"] == "ConfigMap"
    }
    namespace = next(
        item["metadata"]["namespace"] for item in objects if item["kind"] == "ConfigMap"
    )
    env, read = {}, {}
    for item in spec.get("env", []):
        source = item.get("valueFrom", {})
        if "value" in item:
            env[item["name"]] = item["value"]
        elif "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            key, config = ref["key"], configs.get(ref["name"], {})
            if key not in config:  # as the kubelet does: optional, unset; else the pod fails
                assert ref.get("optional"), f"{item['name']}: no key {key} in {ref['name']}"
                continue
            read[key] = config[key]
            env[item["name"]] = services.get(key, config[key])
        elif source.get("fieldRef", {}).get("fieldPath") == "metadata.namespace":
            env[item["name"]] = namespace
        else:
            raise AssertionError(f"{item['name']}: an env source this runner does not know")
    mounts = [
        Mount(item["mountPath"], item["name"], bool(item.get("readOnly")))
        for item in spec.get("volumeMounts", [])
    ]
    pod_context = pod["spec"].get("securityContext", {})
    context = {**pod_context, **spec.get("securityContext", {})}
    assert context.get("runAsNonRoot") and context.get("runAsUser"), "the pod runs as root"
    command = spec["command"] + spec.get("args", [])
    return PodSpec(
        command,
        env,
        mounts,
        read_only_root=context["readOnlyRootFilesystem"],
        user=context["runAsUser"],
        group=context.get("runAsGroup", context["runAsUser"]),
        fs_group=pod_context.get("fsGroup"),
    ), read


def workdir(dockerfile: Path) -> str:
    """The final stage's WORKDIR: where the image keeps the project."""
    found = "/"
    for keyword, args in instructions(dockerfile.read_text(encoding="utf-8")):
        if keyword == "FROM":
            found = "/"
        elif keyword == "WORKDIR":
            found = args
    return found


def image_accounts(dockerfile: Path) -> dict[str, list[str]]:
    """The lines the final stage's `groupadd` and `useradd` add to /etc/group and
    /etc/passwd: the image's user has a name, as libraries that look it up expect."""
    groups: dict[str, str] = {}
    users: list[str] = []
    for keyword, args in instructions(dockerfile.read_text(encoding="utf-8")):
        if keyword == "FROM":
            groups, users = {}, []
        elif keyword != "RUN":
            continue
        for command in re.split(r"&&|;", args):
            words = shlex.split(command)
            options = dict(itertools.pairwise(words))
            if words[:1] == ["groupadd"]:
                groups[words[-1]] = options["--gid"]
            elif words[:1] == ["useradd"]:
                group = groups.get(options["--gid"], options["--gid"])
                home = options.get("--home-dir", "/")
                users.append(f"{words[-1]}:x:{options['--uid']}:{group}::{home}:/usr/sbin/nologin")
    group_lines = [f"{name}:x:{gid}:" for name, gid in groups.items()]
    return {"passwd": users, "group": group_lines}


def image_env(dockerfile: Path) -> dict[str, str]:
    env = dict(read_image(dockerfile).env)
    if "PATH" in env:
        env["PATH"] = env["PATH"].replace("$PATH", IMAGE_PATH)
    return env


def give_to_group(folder: Path, group: int | None) -> None:
    """What the kubelet does to a pod's volumes with an fsGroup: the group owns every file
    and may write, and new files inherit it (setgid folders). Without one, root keeps them."""
    if group is None:
        return
    for path in [folder, *folder.rglob("*")]:
        if path.is_symlink():
            continue
        os.chown(path, -1, group)
        extra = stat.S_IRGRP | stat.S_IWGRP
        if path.is_dir():
            extra |= stat.S_IXGRP | stat.S_ISGID
        path.chmod(path.stat().st_mode | extra)


def host_path(spec: PodSpec, volumes: dict[str, Path], path: str) -> Path:
    """Where a path of the container is on the host: inside the volume mounted there."""
    pure = PurePosixPath(path)
    candidates = [m for m in spec.mounts if pure.is_relative_to(m.path)]
    assert candidates, f"{path} is on no volume of the pod"
    mount = max(candidates, key=lambda m: len(m.path))
    return volumes[mount.volume] / pure.relative_to(mount.path)


@contextmanager
def start_in_pod(
    project: Project, spec: PodSpec, volumes: dict[str, Path], root: Path
) -> Iterator[subprocess.Popen]:
    """Start the pod's command as its manifest runs it; yields the running process."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        raise AssertionError("running a pod's command needs root and unshare (util-linux)")
    assert spec.read_only_root, "the manifest lets the container write to its image"
    dockerfile = project.path / "Dockerfile"
    image = workdir(dockerfile)
    env = {**image_env(dockerfile), **spec.env}
    project_dir = str(project.path.resolve())
    for folder in {volumes[mount.volume] for mount in spec.mounts}:
        give_to_group(folder, spec.fs_group)
    root.mkdir(parents=True)
    lines = ["set -e", "mount --make-rprivate /", f"mount -t tmpfs -o size=8m pod {q(root)}"]
    for name in SYSTEM + DEVICES:
        host = Path("/") / name
        if host.is_symlink():
            lines.append(f"ln -s {q(os.readlink(host))} {q(root / name)}")
        elif host.is_dir():
            lines += [f"mkdir {q(root / name)}", f"mount --rbind {q(host)} {q(root / name)}"]
            if name in SYSTEM:
                lines.append(f"mount -o remount,bind,ro {q(root / name)}")
    # The image's accounts beside the system's.
    for name, added in image_accounts(dockerfile).items():
        copy = root.parent / f"{root.name}-{name}"
        system = (Path("/etc") / name).read_text(encoding="utf-8")
        copy.write_text(system + "".join(f"{line}\n" for line in added), encoding="utf-8")
        copy.chmod(0o644)
        lines += bind(str(copy), f"{root}/etc/{name}", read_only=True, mkdir=False)
    # The image: the project, read-only at WORKDIR.
    lines += bind(project_dir, f"{root}{image}", read_only=True, mkdir=True)
    for mount in sorted(spec.mounts, key=lambda m: len(m.path)):
        target = f"{root}{mount.path}"
        inside_image = PurePosixPath(mount.path).is_relative_to(image)
        if inside_image:  # a mount point in the image; the runtime creates it
            (project.path / PurePosixPath(mount.path).relative_to(image)).mkdir(
                parents=True, exist_ok=True
            )
        lines += bind(str(volumes[mount.volume]), target, mount.read_only, not inside_image)
    # The venv's scripts name their interpreter by the project's own path.
    lines += bind(project_dir, f"{root}{project_dir}", read_only=True, mkdir=True)
    # The venv's interpreter, where the image's user can reach it (an image has it
    # under /usr/local; here it may be in root's home, which no other user may enter).
    prefix = (project.path / ".venv" / "bin" / "python").resolve().parents[1]
    if prefix.is_relative_to("/root"):
        lines.append(f"mount -t tmpfs -o size=1m,mode=755 home {q(root / 'root')}")
        lines += bind(str(prefix), f"{root}{prefix}", read_only=True, mkdir=True)
    lines.append(f"mount -o remount,ro {q(root)}")
    assignments = " ".join(q(f"{key}={value}") for key, value in env.items())
    command = " ".join(map(q, spec.command))
    user = f"--userspec={spec.user}:{spec.group}"
    groups = f" --groups={spec.fs_group}" if spec.fs_group is not None else ""
    lines.append(
        f"exec chroot {user}{groups} {q(root)} /usr/bin/env -i -C {q(image)} "
        f"{assignments} {command}"
    )
    with subprocess.Popen(
        ["unshare", "-m", "bash", "-c", "\n".join(lines)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": os.environ["PATH"]},
    ) as pod:
        try:
            yield pod
        finally:  # a service runs until stopped; unshare, bash and chroot exec into it
            if pod.poll() is None:
                pod.terminate()
                pod.communicate(timeout=30)


def bind(source: str, target: str, read_only: bool, mkdir: bool) -> list[str]:
    lines = [f"mkdir -p {q(target)}"] if mkdir else []
    lines.append(f"mount --bind {q(source)} {q(target)}")
    if read_only:
        lines.append(f"mount -o remount,bind,ro {q(target)}")
    return lines


def q(text: str | Path) -> str:
    return shlex.quote(str(text))


@contextmanager
def mlflow_server(project: Project, folder: Path) -> Iterator[str]:
    """A tracking server with a store of its own, serving artifacts; yields its URL."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(project.empty_store(), folder / "server.db")
    port = free_port()
    command = [
        str(project.path / ".venv" / "bin" / "mlflow"),
        "server",
        f"--backend-store-uri=sqlite:///{folder / 'server.db'}",
        f"--artifacts-destination={folder / 'artifacts'}",
        "--host=127.0.0.1",
        f"--port={port}",
        "--workers=1",
    ]
    url = f"http://127.0.0.1:{port}"
    # No job runner: the jobs the server can run (trace rollups) are not needed here.
    env = {**project.env(), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    with running(command, folder / "mlflow.log", env):
        wait_for("the MLflow server", lambda: urllib.request.urlopen(f"{url}/health"), 180)
        yield url


# Registers the project's champion on a tracking server (argv[1]): a run there with the
# champion's model and reference features, a version of it, the champion alias. Run in
# the project.
SEED_CHAMPION = """
import json, sys, mlflow
from {package}.config import EXPERIMENT_NAME, MODEL_NAME
from {package}.tracking.store import REFERENCE_ARTIFACT
local = mlflow.MlflowClient("sqlite:///mlflow.db")
champion = local.get_model_version_by_alias(MODEL_NAME, "champion")
reference = mlflow.artifacts.download_artifacts(
    run_id=champion.run_id, artifact_path=REFERENCE_ARTIFACT, tracking_uri="sqlite:///mlflow.db"
)
mlflow.set_tracking_uri("sqlite:///mlflow.db")
model = local.get_model_version_download_uri(MODEL_NAME, champion.version)
signature = mlflow.models.get_model_info(model).signature
estimator = mlflow.sklearn.load_model(model)
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment(EXPERIMENT_NAME)
with mlflow.start_run(run_name="train") as run:
    mlflow.log_artifact(reference, REFERENCE_ARTIFACT.rpartition("/")[0])
    logged = mlflow.sklearn.log_model(
        estimator, name="model", signature=signature,
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
    )
mlflow.set_registry_uri(sys.argv[1])
version = mlflow.register_model(logged.model_uri, MODEL_NAME)
mlflow.MlflowClient().set_registered_model_alias(MODEL_NAME, "champion", version.version)
print(json.dumps(version.version))
"""
# The audit events the drift runs on a tracking server (argv[1]) carry.
AUDIT_EVENTS = """
import json, sys, mlflow
from {package}.drift import AUDIT_EVENT_TAG
mlflow.set_tracking_uri(sys.argv[1])
runs = mlflow.search_runs(
    search_all_experiments=True, filter_string="attributes.run_name = 'drift'",
    output_format="list",
)
print(json.dumps([json.loads(run.data.tags[AUDIT_EVENT_TAG]) for run in runs]))
"""


@dataclass
class WorkflowJob:
    """A job of a project's workflow, its `run` steps run as GitHub runs them."""

    project: Project
    workflow: dict
    name: str
    clone: Path
    runner: Path

    @classmethod
    def cloned(cls, project: Project, workflow: str, name: str, folder: Path) -> WorkflowJob:
        """The job, with a fresh clone of the project's last commit to run in."""
        clone, runner = folder / "clone", folder / "runner"
        project.run("git", "clone", "--quiet", str(project.path), str(clone))
        runner.mkdir()
        loaded = yaml.safe_load((project.path / workflow).read_text(encoding="utf-8"))
        return cls(project, loaded, name, clone, runner)

    @property
    def steps(self) -> list[dict]:
        return [step for step in self.workflow["jobs"][self.name]["steps"] if "run" in step]

    def run(self, step: dict) -> subprocess.CompletedProcess:
        script = self.runner / "step.sh"
        script.write_text(step["run"] + "\n", encoding="utf-8")
        files = {name: self.runner / name.lower() for name in ("GITHUB_OUTPUT", "GITHUB_ENV")}
        env = {
            **self.project.env(),
            **self.workflow.get("env", {}),
            **self.workflow["jobs"][self.name].get("env", {}),
            **step.get("env", {}),
            **{name: str(path) for name, path in files.items()},
            "RUNNER_TEMP": str(self.runner),
            "CI": "true",
            "GITHUB_ACTIONS": "true",
        }
        return subprocess.run(
            ["bash", "-e", str(script)],
            cwd=self.clone,
            env={key: str(value) for key, value in env.items()},
            capture_output=True,
            text=True,
            timeout=900,
        )
