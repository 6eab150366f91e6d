"""Checks of the Dockerfile and the compose file."""

from __future__ import annotations

import shutil
import subprocess

from harness.project import (
    check_jsonschema,
    get_json,
    serve,
)
from tests.dockerfile import read_image
from tests.generated.base import tool


class DockerChecks:
    """The Dockerfile is lint-clean; its install and start commands work outside a container."""

    def test_dockerfile_passes_hadolint(self, project):
        result = subprocess.run(
            [tool("hadolint"), "Dockerfile"], cwd=project.path, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def test_compose_file_matches_the_compose_schema(self, project):
        check_jsonschema(project.path / "compose.yaml", "vendor.compose-spec")

    def test_the_images_commands_run_outside_a_container(self, project, scoring_model, tmp_path):
        image = read_image(project.path / "Dockerfile")
        assert image.user == "10001:10001"
        venv = tmp_path / "app-venv"
        env = {**project.env(), "UV_PROJECT_ENVIRONMENT": str(venv)}
        installed = subprocess.run(
            image.install, cwd=project.path, env=env, capture_output=True, text=True
        )
        assert installed.returncode == 0, installed.stderr
        command = [str(venv / "bin" / image.cmd[0]), *image.cmd[1:]]
        run_env = {**project.env(), **{k: v for k, v in image.env.items() if k != "PATH"}}
        if image.healthcheck is None:  # the batch job: reads and writes under /data
            data = tmp_path / "data"
            data.mkdir()
            shutil.copy(project.path / "data" / "examples" / "sample.csv", data / "input.csv")
            command = [part.replace("/data/", f"{data}/") for part in command]
            subprocess.run(command, cwd=project.path, env=run_env, check=True, capture_output=True)
            assert len((data / "predictions.csv").read_text().splitlines()) == 21
            return
        with serve(command, project.path, run_env) as url:
            health = subprocess.run(
                [str(venv / "bin" / "python"), *image.healthcheck[1:]],
                env={**run_env, "PORT": url.rsplit(":", 1)[1]},
                capture_output=True,
            )
            assert health.returncode == 0, "the HEALTHCHECK command passes"
            assert get_json(f"{url}/ready")[0] == 200
