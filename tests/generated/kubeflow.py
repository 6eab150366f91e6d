"""Checks of the Kubeflow pipeline."""

from __future__ import annotations

import itertools

import pytest
import yaml

from harness.project import (
    Project,
    free_port,
)
from tests.dockerfile import instructions, read_image

# What the compiled Kubeflow pipeline says where KFP fills in the pipeline's parameters.
KFP_TRACKING = "MLFLOW_TRACKING_URI={{$.inputs.parameters['mlflow_tracking_uri']}}"


KFP_IMAGE = "{{$.inputs.parameters['pipelinechannel--image']}}"


KFP_RECORDS = "{{$.outputs.artifacts['records'].path}}"


# The folders the stages write to, each a folder of the run's volume.
KFP_MOUNTED = ("data/raw", "data/prepared", "outputs", "audit", "reports")


class KubeflowChecks:
    """The Kubeflow pipeline, a uv script apart from the project: compiled and read back.

    No cluster runs here, and kfp's local runner cannot run container components without
    Docker, so the compiled spec is checked by its structure, never its bytes (it embeds
    the SDK's version).
    """

    @pytest.fixture(scope="class")
    @classmethod
    def compiled(cls, project) -> tuple[dict, dict]:
        """`make kfp-compile` (uv may fetch kfp), then again offline: the pipeline spec and
        the Kubernetes settings of each executor."""
        project.make("kfp-compile")
        output = project.run("make", "kfp-compile", env={"UV_OFFLINE": "1"})
        assert "Compiled " in output and "Traceback" not in output
        compiled = (project.path / "pipelines" / "pipeline.yaml").read_text()
        spec, platform = yaml.safe_load_all(compiled)
        return spec, platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]

    @staticmethod
    def stages(project: Project) -> list[str]:
        """The steps that run a stage: the snapshot, then the stages of dvc.yaml in order."""
        return ["snapshot", *yaml.safe_load((project.path / "dvc.yaml").read_text())["stages"]]

    def test_kfp_stays_out_of_the_project_and_its_spec_out_of_git(self, project, compiled):
        assert "kfp" not in (project.path / "pyproject.toml").read_text()
        assert 'name = "kfp' not in (project.path / "uv.lock").read_text()
        ignored = project.run("git", "check-ignore", "pipelines/pipeline.yaml")
        assert ignored.strip() == "pipelines/pipeline.yaml"

    def test_kfp_steps_run_the_projects_stages_in_its_image(self, project, compiled):
        spec, mounts = compiled
        name = project.package.replace("_", "-")
        stages = self.stages(project)
        assert spec["pipelineInfo"]["name"] == f"{name}-training"
        parameters = spec["root"]["inputDefinitions"]["parameters"]
        assert {key: value["defaultValue"] for key, value in parameters.items()} == {
            "image": f"ghcr.io/OWNER/{name}:latest",
            "mlflow_tracking_uri": "http://mlflow.mlflow.svc.cluster.local:5000",
            "volume_size": "1Gi",
        }
        components = {key.removeprefix("comp-") for key in spec["components"]}
        assert components == {*stages, "keep-records", "createpvc", "deletepvc"}

        executors = spec["deploymentSpec"]["executors"]
        for stage in stages:
            container = executors[f"exec-{stage}"]["container"]
            assert container["command"] == ["env", KFP_TRACKING, project.package], stage
            assert container["args"] == [stage]
        records = executors["exec-keep-records"]["container"]
        assert records["command"] == ["tar", "-czf", KFP_RECORDS, "audit", "reports", "outputs"]

        dockerfile = (project.path / "Dockerfile").read_text()
        workdir = [args for keyword, args in instructions(dockerfile) if keyword == "WORKDIR"][-1]
        for step in [*stages, "keep-records"]:
            assert executors[f"exec-{step}"]["container"]["image"] == KFP_IMAGE, step
            mounted = {m["mountPath"]: m["subPath"] for m in mounts[f"exec-{step}"]["pvcMount"]}
            assert mounted == {f"{workdir}/{folder}": folder for folder in KFP_MOUNTED}, step
        # validate imports pandera, an extra the image installs for the pipeline.
        assert "validation" in read_image(project.path / "Dockerfile").install

    def test_kfp_steps_run_one_after_another_uncached(self, project, compiled):
        spec, _ = compiled
        stages = self.stages(project)
        order = ["createpvc", *stages, "keep-records", "deletepvc"]
        tasks = spec["root"]["dag"]["tasks"]
        assert set(tasks) == set(order)
        for before, after in itertools.pairwise(order):
            assert before in tasks[after]["dependentTasks"], (before, after)
        for name, task in tasks.items():
            assert "enableCache" not in task["cachingOptions"], f"{name} is cached"
            given = task.get("inputs", {}).get("parameters", {})
            if name in stages:
                uri = given["mlflow_tracking_uri"]
                assert uri == {"componentInputParameter": "mlflow_tracking_uri"}, name
            if name in [*stages, "keep-records"]:
                image = given["pipelinechannel--image"]
                assert image == {"componentInputParameter": "image"}, name

    def test_kfp_run_without_a_reachable_host_fails_in_one_line(self, project, compiled):
        unset = project.run("env", "-u", "KFP_HOST", "make", "kfp-run", check=False)
        nobody = {"KFP_HOST": f"http://127.0.0.1:{free_port()}", "MLFLOW_TRACKING_URI": "http://m"}
        unreachable = project.run("make", "kfp-run", check=False, env=nobody)
        local_store = {**nobody, "MLFLOW_TRACKING_URI": "sqlite:///mlflow.db"}
        local = project.run("make", "kfp-run", check=False, env=local_store)
        for output, reason in (
            (unset, "error: KFP_HOST is not set"),
            (unreachable, f"error: cannot start a run on {nobody['KFP_HOST']}: "),
            (local, "error: MLFLOW_TRACKING_URI=sqlite:///mlflow.db is on this machine"),
        ):
            errors = [line for line in output.splitlines() if line.startswith("error:")]
            assert len(errors) == 1 and errors[0].startswith(reason), output
            assert "Error 1" in output and "Traceback" not in output
