"""Checks of the kustomize manifests."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.generated.base import tool

# The Kubernetes release whose API schemas the overlays must pass (the CronJob's
# podFailurePolicy validates from 1.29 on).
KUBERNETES_VERSION = "1.32"


OVERLAYS = ("staging", "prod")


WORKLOADS = {"Deployment", "CronJob"}


def kustomize(overlay: Path) -> str:
    """What `kubectl kustomize` builds from an overlay (kubectl has kustomize built in)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is not on PATH: it builds the kustomize overlays (install kubectl)")
    result = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stderr, result.stderr
    return result.stdout


def objects_of(manifests: str) -> list[dict]:
    return [item for item in yaml.safe_load_all(manifests) if item]


def claims_of(pod: dict) -> dict[str, str]:
    """The pod's volumes that are persistent volume claims: volume name -> claim name."""
    return {
        volume["name"]: volume["persistentVolumeClaim"]["claimName"]
        for volume in pod["volumes"]
        if "persistentVolumeClaim" in volume
    }


def pod_template(workload: dict) -> dict:
    spec = workload["spec"]
    return (spec["jobTemplate"]["spec"] if workload["kind"] == "CronJob" else spec)["template"]


def by_kind(objects: list[dict]) -> dict[str, dict[str, dict]]:
    """{kind: {name: object}}"""
    found: dict[str, dict[str, dict]] = {}
    for item in objects:
        found.setdefault(item["kind"], {})[item["metadata"]["name"]] = item
    return found


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


class KubernetesChecks:
    """The kustomize overlays: valid objects, locked-down pods, the drift CronJob, deploying."""

    @pytest.fixture(scope="class")
    @classmethod
    def built(cls, project) -> dict[str, str]:
        """Each overlay as kustomize builds it: the manifests `kubectl apply -k` sends."""
        return {env: kustomize(project.path / "deploy/k8s/overlays" / env) for env in OVERLAYS}

    @pytest.fixture(scope="class")
    @classmethod
    def overlays(cls, built) -> dict[str, list[dict]]:
        """Each overlay's objects."""
        return {env: objects_of(manifests) for env, manifests in built.items()}

    def test_overlays_pass_kubernetes_validate_strict(self, built, overlays):
        """Every object validates strictly (no unknown field); only the ServiceMonitor's kind
        is unknown to Kubernetes' own schemas, and nothing else is skipped."""
        for env in OVERLAYS:
            result = subprocess.run(
                [tool("kubernetes-validate"), "--strict", "-k", KUBERNETES_VERSION, "-"],
                input=built[env],
                capture_output=True,
                text=True,
            )
            output = result.stdout + result.stderr
            assert result.returncode == 0, output
            unexpected = [
                line
                for line in output.splitlines()
                if not line.startswith("INFO") and "kind ServiceMonitor" not in line
            ]
            assert not unexpected, output
            checked = [item for item in overlays[env] if item["kind"] != "ServiceMonitor"]
            assert output.count(" - passed for resource ") == len(checked), output

    def test_every_pod_runs_locked_down(self, overlays):
        for env, objects in overlays.items():
            workloads = [item for item in objects if item["kind"] in WORKLOADS]
            assert workloads, env
            for workload in workloads:
                where = f"{env}: {workload['kind']}/{workload['metadata']['name']}"
                pod = pod_template(workload)["spec"]
                assert pod["securityContext"]["runAsNonRoot"] is True, where
                assert pod["securityContext"]["runAsUser"] == 10001, where
                assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
                assert pod["automountServiceAccountToken"] is False, where
                scratch = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
                for container in pod["containers"]:
                    context = container["securityContext"]
                    assert context["allowPrivilegeEscalation"] is False, where
                    assert context["readOnlyRootFilesystem"] is True, where
                    assert context["capabilities"]["drop"] == ["ALL"], where
                    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
                    assert mounts["/tmp"] in scratch, f"{where}: /tmp is not an emptyDir"
                    for part in ("requests", "limits"):
                        assert set(container["resources"][part]) == {"cpu", "memory"}, where
                    assert re.fullmatch(r"ghcr\.io/OWNER/[a-z0-9-]+:v[\d.]+", container["image"])

    def test_the_drift_cronjob_checks_the_inputs_daily(self, project, overlays):
        name = project.package.replace("_", "-")
        for env, objects in overlays.items():
            kinds = by_kind(objects)
            config = next(iter(kinds["ConfigMap"].values()))["data"]
            cron = kinds["CronJob"][f"{name}-drift"]
            assert re.fullmatch(r"\d+ \d+ \* \* \*", cron["spec"]["schedule"]), "daily"
            pod = pod_template(cron)["spec"]
            (container,) = pod["containers"]
            env_vars = {item["name"]: item for item in container["env"]}
            for key in ("PUSHGATEWAY_URL", "MLFLOW_TRACKING_URI"):
                assert env_vars[key]["valueFrom"]["configMapKeyRef"]["key"] in config, env
            assert config["PUSHGATEWAY_URL"].startswith("http")
            claims = claims_of(pod)
            (mount,) = [m for m in container["volumeMounts"] if m["name"] in claims]
            if not self.variant.has.online:
                # The batch the scoring CronJob scored: the same claim, at the same path.
                scoring_pod = pod_template(kinds["CronJob"][f"{name}-predict"])["spec"]
                (scoring,) = scoring_pod["containers"]
                batch = scoring["command"][scoring["command"].index("--input") + 1]
                assert container["command"] == [project.package, "drift", "--current", batch]
                assert "SAMPLE_DIR" not in env_vars
                (reads,) = [m for m in scoring["volumeMounts"] if batch.startswith(m["mountPath"])]
                assert reads["mountPath"] == mount["mountPath"]
                assert claims_of(scoring_pod)[reads["name"]] == claims[mount["name"]]
            else:
                # SAMPLE_DIR is on the claimed volume the service writes its samples to.
                assert container["command"] == [project.package, "drift"]
                sample_dir = env_vars["SAMPLE_DIR"]["value"]
                assert sample_dir == mount["mountPath"] or sample_dir.startswith(mount["mountPath"])
                claim = kinds["PersistentVolumeClaim"][claims[mount["name"]]]
                assert claim["metadata"]["name"] == f"{name}-samples"
                assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
                server = pod_template(kinds["Deployment"][name])["spec"]
                (serving,) = server["containers"]
                (writes,) = [m for m in serving["volumeMounts"] if m["mountPath"] == sample_dir]
                assert claims_of(server)[writes["name"]] == f"{name}-samples"
                assert {e["name"]: e.get("value") for e in serving["env"]}["SAMPLE_DIR"] == (
                    sample_dir
                )

    def test_workloads_follow_the_serving_choice(self, project, overlays):
        """Online: the service with probes, scaling and a disruption budget. Batch: a
        CronJob that scores a batch on a volume instead."""
        name = project.package.replace("_", "-")
        for objects in overlays.values():
            kinds = by_kind(objects)
            if not self.variant.has.online:
                assert not {"Deployment", "Service", "HorizontalPodAutoscaler"} & set(kinds)
                assert "PodDisruptionBudget" not in kinds
                scoring = pod_template(kinds["CronJob"][f"{name}-predict"])["spec"]
                (container,) = scoring["containers"]
                command = container["command"]
                assert command[:2] == [project.package, "predict"], command
                data = {m["mountPath"] for m in container["volumeMounts"] if m["name"] == "data"}
                for option in ("--input", "--output"):
                    path = command[command.index(option) + 1]
                    assert any(path.startswith(f"{folder}/") for folder in data), path
                continue
            deployment = kinds["Deployment"][name]
            assert "replicas" not in deployment["spec"], "the HorizontalPodAutoscaler owns it"
            server = pod_template(deployment)
            (container,) = server["spec"]["containers"]
            ports = {port["name"]: port["containerPort"] for port in container["ports"]}
            assert ports == {"http": 8000}
            for probe, path in (("readinessProbe", "/ready"), ("livenessProbe", "/health")):
                assert container[probe]["httpGet"] == {"path": path, "port": "http"}, probe
            labels = server["metadata"]["labels"]
            service = kinds["Service"][name]
            assert matches(service["spec"]["selector"], labels)
            assert service["spec"]["ports"][0]["targetPort"] == "http"
            for cron in kinds["CronJob"].values():
                job_labels = pod_template(cron)["metadata"]["labels"]
                assert not matches(service["spec"]["selector"], job_labels), "jobs get no traffic"
            hpa = kinds["HorizontalPodAutoscaler"][name]
            assert hpa["apiVersion"] == "autoscaling/v2"
            assert hpa["spec"]["scaleTargetRef"] == {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": name,
            }
            # A budget of minAvailable 1 over a single replica would block every node drain.
            assert hpa["spec"]["minReplicas"] >= 2
            pdb = kinds["PodDisruptionBudget"][name]
            assert matches(pdb["spec"]["selector"]["matchLabels"], labels)
            annotations = server["metadata"].get("annotations", {})
            for monitor in kinds.get("ServiceMonitor", {}).values():
                assert matches(
                    monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"]
                )
                assert {e["port"] for e in monitor["spec"]["endpoints"]} <= {"http"}
                assert annotations["prometheus.io/scrape"] == "false", "scraped twice otherwise"

    def test_the_release_deploys_the_prod_overlay_after_the_promotion(self, project, tmp_path):
        """The deploy job: after `promote`, the same environment, read-only; its image edit
        names the overlay's image, so every workload runs the release's image."""
        workflow = yaml.safe_load((project.path / ".github/workflows/cd.yml").read_text())
        deploy = workflow["jobs"]["deploy"]
        assert deploy["needs"] == "promote"
        assert deploy["environment"] == workflow["jobs"]["promote"]["environment"]
        assert deploy["permissions"] == {"contents": "read"}
        assert deploy["if"] == "github.event_name == 'push'"
        steps = {step.get("name"): step for step in deploy["steps"]}
        assert "secrets.KUBECONFIG" in steps["Cluster credentials"]["env"]["KUBECONFIG_CONTENT"]
        apply = steps["Apply the prod overlay with the release's image"]
        assert apply["working-directory"] == "deploy/k8s/overlays/prod"
        assert "kubectl apply -k ." in apply["run"]
        edit = re.search(
            r'kustomize edit set image "([\w-]+)=(\S+):\$\{GITHUB_REF_NAME\}"', apply["run"]
        )
        assert edit and edit.group(2) == "ghcr.io/${GITHUB_REPOSITORY,,}", apply["run"]
        # What `kustomize edit set image` writes, for a release v9.9.9 of acme/model.
        deploy_dir = tmp_path / "k8s"
        shutil.copytree(project.path / "deploy" / "k8s", deploy_dir)
        overlay = deploy_dir / "overlays" / "prod" / "kustomization.yaml"
        kustomization = yaml.safe_load(overlay.read_text())
        (image,) = [item for item in kustomization["images"] if item["name"] == edit.group(1)]
        image.update(newName="ghcr.io/acme/model", newTag="v9.9.9")
        overlay.write_text(yaml.safe_dump(kustomization))
        built = objects_of(kustomize(overlay.parent))
        workloads = [item for item in built if item["kind"] in WORKLOADS]
        images = {c["image"] for w in workloads for c in pod_template(w)["spec"]["containers"]}
        assert images == {"ghcr.io/acme/model:v9.9.9"}
