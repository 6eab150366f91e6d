"""Checks of the kustomize manifests."""

from __future__ import annotations

import base64
import contextlib
import csv
import dataclasses
import functools
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from harness.project import (
    Project,
    free_port,
    get_json,
    post_json,
)
from tests.cluster import (
    AUDIT_EVENTS,
    SEED_CHAMPION,
    PodSpec,
    WorkflowJob,
    host_path,
    mlflow_server,
    pod_spec,
    start_in_pod,
)
from tests.generated.base import (
    PROMETHEUS,
    once_per_level,
    only_where,
    tool,
)
from tests.prometheus import missing_tools as prometheus_tools_missing
from tests.prometheus import prometheus, pushgateway, wait_for

# The Kubernetes release whose API schemas the overlays must pass (the CronJob's
# podFailurePolicy validates from 1.29 on).
KUBERNETES_VERSION = "1.32"


OVERLAYS = ("staging", "prod")


WORKLOADS = {"Deployment", "CronJob"}
# The kinds Kubernetes' own schemas do not know: the prometheus-operator's, and Argo
# Rollouts' (checked against its own CRDs' schemas in tests/generated/rollout.py).
OPERATOR_KINDS = {"ServiceMonitor", "PrometheusRule", "Rollout", "AnalysisTemplate"}


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


# An administrator's kubeconfig: the context the deployer's kubeconfig is made from.
ADMIN_KUBECONFIG = """
apiVersion: v1
kind: Config
clusters:
  - name: production
    cluster: {server: "https://203.0.113.10:6443", insecure-skip-tls-verify: true}
users:
  - name: admin
    user: {token: admin-secret}
contexts:
  - name: admin@production
    context: {cluster: production, user: admin}
current-context: admin@production
"""


def resource_of(item: dict) -> tuple[str, str]:
    """(API group, resource) of an object, as an RBAC rule names it."""
    group = item["apiVersion"].rpartition("/")[0]
    kind = item["kind"].lower()
    return group, kind[:-1] + "ies" if kind.endswith("y") else kind + "s"


def granted(role: dict) -> set[tuple[str, str]]:
    """The (API group, resource) pairs a Role's rules grant."""
    return {
        (group, resource)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }


def up(process: subprocess.Popen, url: str) -> bool:
    """Whether `url` answers 200; fails at once when the process has stopped."""
    if process.poll() is not None:
        raise AssertionError(f"it stopped: {process.communicate()[1][-3000:]}")
    return get_json(url)[0] == 200


def put_file(project: Project, spec: PodSpec, volumes: dict[str, Path], option: str, batch: str):
    """Put a shipped batch where the job's command reads it (the path after `option`)."""
    target = host_path(spec, volumes, spec.command[spec.command.index(option) + 1])
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(project.path / "data" / "examples" / batch, target)


def batch_rows(project: Project, batch: str) -> list[dict[str, float]]:
    """A shipped batch's rows, as a request's instances."""
    lines = (project.path / "data" / "examples" / batch).read_text().splitlines()
    header = lines[0].split(",")
    return [dict(zip(header, map(float, line.split(",")), strict=True)) for line in lines[1:]]


def sampled_rows(folder: Path) -> list[dict]:
    """The rows of the request bodies the service kept in a samples folder."""
    return [
        row
        for path in sorted(folder.glob("samples-*.jsonl"))
        for line in path.read_text().splitlines()
        for row in json.loads(line)["instances"]
    ]


def pod_volumes(pod: dict, spec: PodSpec, folder: Path, claims: Path) -> dict[str, Path]:
    """A host folder for each volume the container mounts: a fresh one for a pod's own
    (emptyDir), the claim's for a persistent volume claim, shared by every pod that
    mounts that claim, as the cluster's storage is."""
    claimed = claims_of(pod)
    volumes = {
        mount.volume: claims / claimed[mount.volume]
        if mount.volume in claimed
        else folder / mount.volume
        for mount in spec.mounts
    }
    for path in volumes.values():
        path.mkdir(parents=True, exist_ok=True)
    return volumes


def validate_strict(manifests: str, objects: list[dict]) -> None:
    """Every object validates strictly (no unknown field); only the operators' kinds
    are unknown to Kubernetes' own schemas, and nothing else is skipped."""
    result = subprocess.run(
        [tool("kubernetes-validate"), "--strict", "-k", KUBERNETES_VERSION, "-"],
        input=manifests,
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    unexpected = [
        line
        for line in output.splitlines()
        if not line.startswith("INFO")
        and not any(f"kind {kind}" in line for kind in OPERATOR_KINDS)
    ]
    assert not unexpected, output
    checked = [item for item in objects if item["kind"] not in OPERATOR_KINDS]
    assert output.count(" - passed for resource ") == len(checked), output


def build_without(project: Project, component: str, folder: Path) -> dict[str, str]:
    """Each overlay built with a component taken out of its `components`, as its comment
    tells a team to do: from a copy of deploy/k8s."""
    copy = folder / "k8s"
    shutil.copytree(project.path / "deploy" / "k8s", copy)
    built = {}
    for env in OVERLAYS:
        path = copy / "overlays" / env / "kustomization.yaml"
        kustomization = yaml.safe_load(path.read_text())
        listed = kustomization["components"]
        kept = [item for item in listed if item != f"../../components/{component}"]
        assert len(kept) == len(listed) - 1, f"{env} does not add the {component} component"
        if kept:
            kustomization["components"] = kept
        else:
            del kustomization["components"]
        path.write_text(yaml.safe_dump(kustomization, sort_keys=False))
        built[env] = kustomize(path.parent)
    return built


def sample_through_the_service(
    project: Project, objects: list[dict], tracking: str, rows: list[dict], folder: Path
) -> None:
    """The Deployment's container as its manifest runs it, sent `rows`: what it samples
    lands on the samples claim's folder under `folder / "claims"`."""
    name = project.package.replace("_", "-")
    template = pod_template(by_kind(objects)["Deployment"][name])
    spec, _ = pod_spec(objects, template, name, {"MLFLOW_TRACKING_URI": tracking})
    assert float(spec.env["SAMPLE_RATE"]) > 0, "the input-sampling component turns it on"
    port = free_port()  # the manifest's 8000 may be taken on a shared machine
    # Every request kept (instead of the manifest's share), so the check sees the batch.
    spec = dataclasses.replace(spec, env={**spec.env, "PORT": str(port), "SAMPLE_RATE": "1"})
    volumes = pod_volumes(template["spec"], spec, folder / "service", folder / "claims")
    samples = host_path(spec, volumes, spec.env["SAMPLE_DIR"])
    assert samples.is_relative_to(folder / "claims"), "the samples go to the claim"
    url = f"http://127.0.0.1:{port}"
    with start_in_pod(project, spec, volumes, folder / "service-root") as pod:
        wait_for("/ready", lambda: up(pod, f"{url}/ready"), 180)
        for start in range(0, len(rows), 50):
            body = json.dumps({"instances": rows[start : start + 50]}).encode()
            assert post_json(f"{url}/predict", body)[0] == 200
        wait_for("the samples on the claim", lambda: sampled_rows(samples) == rows)


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

    @pytest.fixture(scope="class")
    @classmethod
    def unsampled(cls, project, tmp_path_factory) -> dict[str, str]:
        """Online: each overlay built without the input-sampling component, as a cluster
        without ReadWriteMany storage runs it."""
        folder = tmp_path_factory.mktemp("unsampled")
        return build_without(project, "input-sampling", folder)

    def test_the_overlays_stay_in_the_namespaces_the_bootstrap_makes(self, project, overlays):
        """The bootstrap (applied once by an administrator) makes each overlay's namespace,
        restricted, and a deployer whose Role covers exactly the kinds the overlays apply:
        the overlays create nothing outside their namespace, so CD's credential needs no
        cluster-wide right, and no Secret, delete or wildcard."""
        name = project.package.replace("_", "-")
        manifests = kustomize(project.path / "deploy/k8s/bootstrap")
        bootstrap = objects_of(manifests)
        validate_strict(manifests, bootstrap)
        kinds = by_kind(bootstrap)
        namespaces = {f"{name}-{env}" for env in OVERLAYS}
        assert set(kinds["Namespace"]) == namespaces
        for namespace in kinds["Namespace"].values():
            assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == (
                "restricted"
            )
        applied = {resource_of(item) for objects in overlays.values() for item in objects}
        roles = {
            item["metadata"]["namespace"]: item for item in bootstrap if item["kind"] == "Role"
        }
        assert set(roles) == namespaces and not {"ClusterRole", "ClusterRoleBinding"} & set(kinds)
        for env, objects in overlays.items():
            namespace = f"{name}-{env}"
            assert all(item["metadata"].get("namespace") == namespace for item in objects), env
            role = roles[namespace]
            needed = {resource_of(item) for item in objects}
            assert needed <= granted(role) <= applied, (env, granted(role) ^ needed)
            for rule in role["rules"]:
                assert set(rule["verbs"]) == {"get", "list", "watch", "create", "patch", "update"}
            (binding,) = [
                item
                for item in bootstrap
                if item["kind"] == "RoleBinding" and item["metadata"]["namespace"] == namespace
            ]
            assert binding["roleRef"]["name"] == role["metadata"]["name"]
            (subject,) = binding["subjects"]
            assert (subject["kind"], subject["namespace"]) == ("ServiceAccount", namespace)
            (token,) = [
                item
                for item in bootstrap
                if item["kind"] == "Secret" and item["metadata"]["namespace"] == namespace
            ]
            annotations = token["metadata"]["annotations"]
            assert annotations["kubernetes.io/service-account.name"] == subject["name"]

    def test_the_deployer_kubeconfig_holds_its_token_and_not_yours(self, project, tmp_path):
        """The README's way to the secret KUBECONFIG: the script, run with an
        administrator's context, prints a kubeconfig of the deployer's token, the Secret's
        CA and the context's server, in the prod namespace; none of the administrator's
        credentials; and refuses, in one line, a Secret without its token yet."""
        name = project.package.replace("_", "-")
        readme = (project.path / "README.md").read_text()
        script = "deploy/k8s/bootstrap/deployer-kubeconfig.sh"
        assert f"bash {script} prod | gh secret set KUBECONFIG --env production" in readme
        admin = tmp_path / "admin.kubeconfig"
        admin.write_text(ADMIN_KUBECONFIG)
        # kubectl as the cluster answers `get secret` (its data base64-encoded, as
        # jsonpath prints it); every `kubectl config` runs the real kubectl.
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        (bin_dir / "kubectl").write_text(
            "#!/bin/sh\n"
            'if [ "$3" = get ]; then\n'
            '  echo "$@" >> "$KUBECTL_CALLS"\n'
            '  case "$*" in *data.token*) value=$TOKEN ;; *) value=$CA ;; esac\n'
            '  printf %s "$value" | base64\n'
            "  exit 0\n"
            "fi\n"
            f'exec {shutil.which("kubectl")} "$@"\n'
        )
        (bin_dir / "kubectl").chmod(0o755)
        env = {
            **project.env(),
            "PATH": f"{bin_dir}:{project.env()['PATH']}",
            "KUBECONFIG": str(admin),
            "KUBECTL_CALLS": str(tmp_path / "calls"),
            "TOKEN": "deployer-token",
            "CA": "the cluster's CA",
        }
        run = functools.partial(
            subprocess.run, cwd=project.path, env=env, capture_output=True, text=True
        )
        done = run(["bash", script, "prod"])
        assert done.returncode == 0, done.stderr
        config = yaml.safe_load(done.stdout)
        (cluster,) = config["clusters"]
        assert cluster["cluster"]["server"] == "https://203.0.113.10:6443"
        ca = base64.b64decode(cluster["cluster"]["certificate-authority-data"]).decode()
        assert ca == "the cluster's CA"
        (user,) = config["users"]
        assert user == {"name": f"{name}-deployer", "user": {"token": "deployer-token"}}
        (context,) = config["contexts"]
        assert context["context"]["namespace"] == f"{name}-prod"
        assert config["current-context"] == context["name"]
        assert "admin-secret" not in done.stdout
        calls = (tmp_path / "calls").read_text()
        assert f"--namespace {name}-prod get secret/{name}-deployer-token" in calls
        refused = run(["bash", script, "prod"], env={**env, "TOKEN": ""})
        assert refused.returncode == 1 and not refused.stdout
        (line,) = refused.stderr.splitlines()
        assert line.startswith(f"error: secret/{name}-deployer-token in {name}-prod holds no")
        wrong = run(["bash", script, "production"])
        assert wrong.returncode == 2 and "staging|prod" in wrong.stderr
        if shutil.which("shellcheck"):
            checked = run(["shellcheck", script])
            assert checked.returncode == 0, checked.stdout

    def test_overlays_pass_kubernetes_validate_strict(self, built, overlays):
        """Every object validates strictly (no unknown field); only the operators' kinds
        are unknown to Kubernetes' own schemas, and nothing else is skipped."""
        for env in OVERLAYS:
            validate_strict(built[env], overlays[env])

    @only_where(lambda has: has.input_sampling, "a batch-only project samples no requests")
    def test_without_input_sampling_the_service_needs_only_its_own_objects(
        self, project, unsampled
    ):
        """The overlays without the input-sampling component (no ReadWriteMany storage):
        valid, and nothing but the Deployment, Service, HPA and PDB (and the
        ConfigMap, network policies and the operator's objects), sampling and challenger
        off, no volume but the pod's own."""
        name = project.package.replace("_", "-")
        for env, manifests in unsampled.items():
            objects = objects_of(manifests)
            validate_strict(manifests, objects)
            kinds = by_kind(objects)
            workloads = set(kinds) - {"ConfigMap", "NetworkPolicy"} - OPERATOR_KINDS
            expected = {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
            assert workloads == expected, env
            server = pod_template(kinds["Deployment"][name])["spec"]
            assert all(set(volume) == {"name", "emptyDir"} for volume in server["volumes"]), env
            (container,) = server["containers"]
            settings = {item["name"]: item.get("value") for item in container["env"]}
            assert settings["SAMPLE_RATE"] == "0", env
            assert settings.get("CHALLENGER", "none") == "none", env

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
            probes = {
                "startupProbe": "/ready",
                "readinessProbe": "/ready",
                "livenessProbe": "/health",
            }
            for probe, path in probes.items():
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
            # Where a Rollout runs the Deployment's pods (progressive-rollout), it scales.
            scaled = (
                ("argoproj.io/v1alpha1", "Rollout")
                if "Rollout" in kinds
                else ("apps/v1", "Deployment")
            )
            assert hpa["spec"]["scaleTargetRef"] == {
                "apiVersion": scaled[0],
                "kind": scaled[1],
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

    def test_network_policies_keep_each_pod_to_what_it_needs(self, project, overlays):
        """The jobs: no ingress, egress to DNS and the namespaces of the ConfigMap's MLflow
        and Pushgateway, and HTTPS. The service: from the ingress and Prometheus, on http,
        spread over nodes and zones."""
        name = project.package.replace("_", "-")
        for objects in overlays.values():
            kinds = by_kind(objects)
            config = next(iter(kinds["ConfigMap"].values()))["data"]
            jobs = kinds["NetworkPolicy"][f"{name}-jobs"]["spec"]
            assert jobs["policyTypes"] == ["Ingress", "Egress"] and jobs["ingress"] == []
            reached = {
                port["port"]: {
                    peer.get("namespaceSelector", {})
                    .get("matchLabels", {})
                    .get("kubernetes.io/metadata.name", peer.get("ipBlock", {}).get("cidr"))
                    for peer in rule["to"]
                }
                for rule in jobs["egress"]
                for port in rule["ports"]
            }
            assert set(reached) == {53, 5000, 9091, 443}
            (mlflow,) = reached[5000]
            (gateway,) = reached[9091]
            assert f".{mlflow}.svc" in config["MLFLOW_TRACKING_URI"]
            assert f".{gateway}.svc" in config["PUSHGATEWAY_URL"]
            (selector,) = jobs["podSelector"]["matchExpressions"]
            for cron in kinds["CronJob"].values():
                labels = pod_template(cron)["metadata"]["labels"]
                assert labels["app.kubernetes.io/component"] in selector["values"]
            if not self.variant.has.online:
                continue
            server = pod_template(kinds["Deployment"][name])
            policy = kinds["NetworkPolicy"][f"{name}-server"]["spec"]
            assert matches(policy["podSelector"]["matchLabels"], server["metadata"]["labels"])
            assert policy["policyTypes"] == ["Ingress"]
            (rule,) = policy["ingress"]
            assert rule["ports"] == [{"port": "http"}]
            sources = {
                peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                for peer in rule["from"]
            }
            assert sources == {"ingress-nginx", "monitoring"}
            spread = server["spec"]["topologySpreadConstraints"]
            keys = {constraint["topologyKey"] for constraint in spread}
            assert keys == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
            for constraint in spread:
                assert matches(
                    constraint["labelSelector"]["matchLabels"], server["metadata"]["labels"]
                )

    def test_codeowners_cover_the_operations_code(self, project):
        """The cluster's manifests, the monitoring and runbooks, the pipelines and the audit
        trail each have owners of their own, not only the catch-all."""
        owned = {
            line.split()[0].strip("/")
            for line in (project.path / ".github" / "CODEOWNERS").read_text().splitlines()
            if line.startswith("/")
        }
        expected = {"deploy", "monitoring", "docs/runbooks", "audit"}
        expected |= {"pipelines"} if self.variant.has.kubeflow else set()
        assert expected <= owned, expected - owned

    def test_the_prometheus_rule_carries_the_alert_rules(self, project, overlays):
        """The prod overlay's PrometheusRule has exactly alerts.yml's groups; staging, scraped
        by annotation, loads alerts.yml itself."""
        rules = yaml.safe_load((project.path / PROMETHEUS / "alerts.yml").read_text())
        (rule,) = by_kind(overlays["prod"])["PrometheusRule"].values()
        assert rule["apiVersion"] == "monitoring.coreos.com/v1"
        assert rule["spec"] == rules
        assert rule["metadata"]["labels"]["environment"] == "prod"
        assert "PrometheusRule" not in by_kind(overlays["staging"])

    def test_the_drift_job_runs_as_its_manifest_runs_it(
        self, project, champion, overlays, tmp_path
    ):
        """Each environment's drift CronJob, its command, env and mounts read from the built
        overlay, run on a read-only root against a real tracking server and Pushgateway:
        exit 0 on clean and drifted inputs alike, reports on its volume, the audit event on
        the tracking server, and the verdict in a real Prometheus under its environment.
        Online, its inputs are what the service's pods, run as their manifest runs them,
        sampled onto the claim both mount; batch-only, the batch on the data claim."""
        if missing := prometheus_tools_missing():
            pytest.fail(f"{', '.join(missing)} is not installed: apt-get install (.ci/run does)")
        name = project.package.replace("_", "-")
        batches = {"staging": "batch_clean.csv", "prod": "batch_shifted.csv"}
        trail = project.path / "audit" / "trail.jsonl"
        before = trail.read_bytes() if trail.exists() else b""
        config = project.path / PROMETHEUS / "prometheus.yml"
        with (
            mlflow_server(project, tmp_path / "mlflow") as tracking,
            pushgateway(tmp_path) as gateway,
        ):
            project.python(SEED_CHAMPION.format(package=project.package), tracking)
            services = {"MLFLOW_TRACKING_URI": tracking, "PUSHGATEWAY_URL": f"http://{gateway}"}
            namespaces, pods = {}, {}
            with contextlib.ExitStack() as stack:
                for env, batch in batches.items():  # both environments at once
                    objects = overlays[env]
                    cron = by_kind(objects)["CronJob"][f"{name}-drift"]
                    template = pod_template(cron)
                    spec, read = pod_spec(objects, template, "drift", services)
                    assert set(services) <= set(read), "the servers come from the ConfigMap"
                    namespaces[env] = spec.env["NAMESPACE"]
                    folder = tmp_path / env
                    claims = folder / "claims"
                    volumes = pod_volumes(template["spec"], spec, folder / "drift", claims)
                    if "--current" in spec.command:
                        put_file(project, spec, volumes, "--current", batch)
                    else:
                        rows = batch_rows(project, batch)
                        sample_through_the_service(project, objects, tracking, rows, folder)
                        kept = host_path(spec, volumes, spec.env["SAMPLE_DIR"])
                        assert sampled_rows(kept) == rows, "the job reads what the service kept"
                    pod = start_in_pod(project, spec, volumes, folder / "root")
                    pods[env] = (spec, volumes, stack.enter_context(pod))
                for env, (spec, volumes, pod) in pods.items():
                    stdout, stderr = pod.communicate(timeout=600)
                    assert pod.returncode == 0, stdout + stderr
                    assert ("Drift:" if env == "prod" else "No drift:") in stdout, stdout + stderr
                    reports = host_path(spec, volumes, "/app/reports")
                    written = {path.name for path in reports.iterdir()}
                    assert {"drift.html", "drift.json", "drift.prom"} <= written, stderr
            assert (trail.read_bytes() if trail.exists() else b"") == before
            events = project.python(AUDIT_EVENTS.format(package=project.package), tracking)
            assert sorted(event["drifted"] for event in events) == [False, True], events
            assert {event["event"] for event in events} == {"drift"}
            with prometheus(config, "127.0.0.1:9", gateway, tmp_path) as server:
                detected = f"{project.package}_drift_detected"
                seen = wait_for(
                    "both environments' verdicts",
                    lambda: len(found := server.query(detected)) == 2 and found,
                )
                verdicts = {
                    item["metric"]["environment"]: (item["metric"]["namespace"], item["value"][1])
                    for item in seen
                }
                assert verdicts == {
                    "staging": (namespaces["staging"], "0"),
                    "prod": (namespaces["prod"], "1"),
                }, seen
                print(f"Prometheus saw {detected}: {sorted(verdicts.items())}")
                print("rules:", sorted(rule["name"] for rule in server.rules()))

    @only_where(
        lambda has: not has.online, "an online project scores requests, not batches on a schedule"
    )
    def test_the_scoring_job_runs_as_its_manifest_runs_it(
        self, project, champion, overlays, tmp_path
    ):
        """Batch-only: each environment's scoring CronJob, its command, env and mounts read
        from the built overlay, run on a read-only root against a real tracking server:
        exit 0, and the batch on the data claim scored, row for row, where the command
        writes its predictions."""
        name = project.package.replace("_", "-")
        batch = project.path / "data" / "examples" / "batch_clean.csv"
        with mlflow_server(project, tmp_path / "mlflow") as tracking:
            project.python(SEED_CHAMPION.format(package=project.package), tracking)
            services = {"MLFLOW_TRACKING_URI": tracking}
            pods = {}
            with contextlib.ExitStack() as stack:
                for env in OVERLAYS:  # both environments at once
                    objects = overlays[env]
                    cron = by_kind(objects)["CronJob"][f"{name}-predict"]
                    template = pod_template(cron)
                    spec, read = pod_spec(objects, template, "predict", services)
                    assert set(services) <= set(read), "the server comes from the ConfigMap"
                    folder = tmp_path / env
                    claims = folder / "claims"
                    volumes = pod_volumes(template["spec"], spec, folder / "predict", claims)
                    put_file(project, spec, volumes, "--input", batch.name)
                    pod = start_in_pod(project, spec, volumes, folder / "root")
                    pods[env] = (spec, volumes, stack.enter_context(pod))
                for env, (spec, volumes, pod) in pods.items():
                    stdout, stderr = pod.communicate(timeout=600)
                    assert pod.returncode == 0, f"{env}: {stdout}{stderr}"
                    output = spec.command[spec.command.index("--output") + 1]
                    rows = list(csv.DictReader(batch.open()))
                    assert f"Wrote {len(rows)} predictions to {output}" in stdout, stdout
                    with host_path(spec, volumes, output).open() as written:
                        scored = list(csv.DictReader(written))
                    assert len(scored) == len(rows), env
                    assert {"prediction", "probability"} <= set(scored[0]), scored[0]
                    assert {row["prediction"] for row in scored} <= {"0", "1"}, env

    @only_where(lambda has: has.input_sampling, "a batch-only project samples no requests")
    def test_the_service_pod_starts_without_samples_and_waits_for_its_model(
        self, project, champion, unsampled, tmp_path
    ):
        """The Deployment's container as the overlay without the input-sampling component
        runs it (no claim: sampling and challenger off), against a tracking server with no
        champion yet: alive and not ready; once one is registered, it loads by itself."""
        name = project.package.replace("_", "-")
        objects = objects_of(unsampled["staging"])
        template = pod_template(by_kind(objects)["Deployment"][name])
        assert not claims_of(template["spec"]), "no claim to wait for"
        with mlflow_server(project, tmp_path / "mlflow") as tracking:
            services = {"MLFLOW_TRACKING_URI": tracking}
            spec, _ = pod_spec(objects, template, name, services)
            port = free_port()  # the manifest's 8000 may be taken on a shared machine
            spec = dataclasses.replace(spec, env={**spec.env, "PORT": str(port)})
            volumes = pod_volumes(template["spec"], spec, tmp_path, tmp_path / "claims")
            url = f"http://127.0.0.1:{port}"
            with start_in_pod(project, spec, volumes, tmp_path / "root") as pod:
                wait_for("/health", lambda: up(pod, f"{url}/health"), 180)
                status, body = get_json(f"{url}/ready")
                assert status == 503 and "champion" in body["detail"], body
                project.python(SEED_CHAMPION.format(package=project.package), tracking)
                wait_for("/ready", lambda: get_json(f"{url}/ready")[0] == 200, 180)
                example = (project.path / "examples" / "request.json").read_bytes()
                assert post_json(f"{url}/predict", example)[0] == 200
                assert pod.poll() is None

    @pytest.fixture(scope="class")
    @classmethod
    def ops_job(cls, project, tmp_path_factory) -> tuple[WorkflowJob, list]:
        """The CI workflow's `ops` job, its steps run in a fresh clone; and their results."""
        folder = tmp_path_factory.mktemp("ops-job")
        job = WorkflowJob.cloned(project, ".github/workflows/ci.yml", "ops", folder)
        return job, [job.run(step) for step in job.steps]

    @once_per_level
    def test_the_ci_ops_job_passes_on_the_rendered_project(self, ops_job):
        """Every step of the job, `make check-ops` last, as GitHub runs them: green."""
        job, results = ops_job
        assert job.steps[-1]["run"] == "make check-ops"
        for step, done in zip(job.steps, results, strict=True):
            assert done.returncode == 0, f"{step['run']}\n{done.stdout}{done.stderr}"

    @once_per_level
    def test_the_ci_ops_job_fails_on_what_it_checks(self, project, champion, ops_job):
        """`make check-ops`, the job's last step, red on a rule promtool cannot parse, an
        overlay with a field Kubernetes does not know, and an edited audit line."""
        job, _ = ops_job
        clone, name = job.clone, project.package.replace("_", "-")
        alerts = clone / PROMETHEUS / "alerts.yml"
        staging = clone / "deploy/k8s/overlays/staging/kustomization.yaml"
        trail = clone / "audit" / "trail.jsonl"
        kustomization = yaml.safe_load(staging.read_text())
        kustomization.setdefault("patches", []).append(
            {
                "target": {"kind": "CronJob", "name": f"{name}-drift"},
                "patch": '[{"op": "add", "path": "/spec/jobTemplate/spec/retries", "value": 3}]',
            }
        )
        lines = (project.path / "audit" / "trail.jsonl").read_text().splitlines()
        edited = json.dumps({**json.loads(lines[0]), "who": "someone-else"}, sort_keys=True)
        breakages = {
            "alerts.yml": (
                alerts,
                alerts.read_text().replace("_drift_detected == 1", "_drift_detected == ", 1),
            ),
            "retries": (staging, yaml.safe_dump(kustomization, sort_keys=False)),
            "line 1 was changed": (trail, "\n".join([edited, *lines[1:]]) + "\n"),
        }
        try:
            for expected, (path, text) in breakages.items():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
                done = job.run(job.steps[-1])
                output = done.stdout + done.stderr
                assert done.returncode != 0 and expected in output, output
                project.run("git", "-C", str(clone), "checkout", "--quiet", "--", ".")
        finally:
            project.run("git", "-C", str(clone), "checkout", "--quiet", "--", ".")
            trail.unlink(missing_ok=True)

    def test_the_release_deploys_the_prod_overlay_after_the_promotion(self, project, tmp_path):
        """The deploy job: only after `promote` succeeded, in the same environment, read-only;
        it pins the image CD built by digest and the promoted version in model.env, so every
        workload runs the release's image and serves the version that was approved."""
        workflow = yaml.safe_load((project.path / ".github/workflows/cd.yml").read_text())
        deploy = workflow["jobs"]["deploy"]
        assert "promote" in deploy["needs"] and "needs.promote.result == 'success'" in deploy["if"]
        assert deploy["environment"] == workflow["jobs"]["promote"]["environment"]
        assert deploy["permissions"] == {"contents": "read", "attestations": "read"}
        assert deploy["env"]["VERSION"] == "${{ needs.request.outputs.version }}"
        assert deploy["env"]["IMAGE_DIGEST"] == "${{ needs.image.outputs.digest }}"
        steps = {step.get("name"): step for step in deploy["steps"]}
        assert "secrets.KUBECONFIG" in steps["Cluster credentials"]["env"]["KUBECONFIG_CONTENT"]
        assert "gh attestation verify" in steps["Verify the image's provenance"]["run"]
        apply = steps["Apply the prod overlay with the image and the model version"]
        assert apply["working-directory"] == "deploy/k8s/overlays/prod"
        assert "kubectl apply -k ." in apply["run"]
        assert "printf 'MODEL_VERSION=%s\\n' \"$VERSION\" > model.env" in apply["run"]
        edit = re.search(
            r'kustomize edit set image "([\w-]+)=\$IMAGE@\$IMAGE_DIGEST"', apply["run"]
        )
        assert edit, apply["run"]
        # What the step writes, for an image ghcr.io/acme/model@sha256:… promoted as version 7.
        digest = "sha256:" + "a" * 64
        deploy_dir = tmp_path / "k8s"
        shutil.copytree(project.path / "deploy" / "k8s", deploy_dir)
        overlay = deploy_dir / "overlays" / "prod" / "kustomization.yaml"
        kustomization = yaml.safe_load(overlay.read_text())
        (image,) = [item for item in kustomization["images"] if item["name"] == edit.group(1)]
        image.pop("newTag", None)
        image.update(newName="ghcr.io/acme/model", digest=digest)
        overlay.write_text(yaml.safe_dump(kustomization))
        (overlay.parent / "model.env").write_text("MODEL_VERSION=7\n")
        built = objects_of(kustomize(overlay.parent))
        workloads = [item for item in built if item["kind"] in WORKLOADS]
        containers = [c for w in workloads for c in pod_template(w)["spec"]["containers"]]
        assert {c["image"] for c in containers} == {f"ghcr.io/acme/model@{digest}"}
        (config,) = [
            item
            for item in built
            if item["kind"] == "ConfigMap" and "MODEL_VERSION" in item.get("data", {})
        ]
        assert config["data"]["MODEL_VERSION"] == "7"
        for container in containers:  # every workload reads the version the CD pinned
            refs = [
                e["valueFrom"]["configMapKeyRef"]
                for e in container.get("env", [])
                if e["name"] == "MODEL_VERSION"
            ]
            assert refs and refs[0]["name"] == config["metadata"]["name"], container["name"]
