"""The Kubernetes manifests: every overlay renders with `kubectl kustomize`, every object validates against the
Kubernetes schemas offline (kubernetes-validate), and every workload keeps the rules of deploy/kubernetes/README.md
(probes, limits, non-root, read-only root, no `latest`, settings by their real names, secrets defined or documented,
a migration Job per database, who may reach whom)."""

import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
KUSTOMIZE = REPO / "deploy" / "kubernetes"
OVERLAYS = ["dev", "production"]
# The oldest Kubernetes still supported by the big managed offerings, and the newest the schemas know.
KUBERNETES_VERSIONS = ["1.30", kubernetes_validate.utils.latest_version()]
WORKLOADS = {"Deployment", "StatefulSet", "Job"}
# Environment every process understands without reading it in our code: the interpreter's, gunicorn's
# (gunicorn.conf.py reads HOST, PORT, WEB_CONCURRENCY, WEB_THREADS, GUNICORN_TIMEOUT), boto3's credentials.
RUNTIME_SETTINGS = {"HOME", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "AWS_ACCESS_KEY_ID",
                    "AWS_SECRET_ACCESS_KEY"}
# Read by deploy/kubernetes/base/scripts/wait_for_migrations.py (the init container), not by the services.
INIT_SETTINGS = {"MIGRATIONS_WAIT_SECONDS", "MIGRATIONS_POLL_SECONDS"}


@cache
def render_path(path: str, *flags: str) -> tuple[dict, ...]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (with Kustomize) is needed to render the manifests"
    result = subprocess.run([kubectl, "kustomize", *flags, path], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def render(overlay: str) -> tuple[dict, ...]:
    return render_path(str(KUSTOMIZE / "overlays" / overlay))


@pytest.fixture(scope="module")
def with_servicemonitor(tmp_path_factory) -> tuple[dict, ...]:
    """The production overlay plus the optional ServiceMonitor component, as a user would combine them."""
    folder = tmp_path_factory.mktemp("kustomize")
    (folder / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [os.path.relpath(KUSTOMIZE / "overlays" / "production", folder)],
        "components": [os.path.relpath(KUSTOMIZE / "components" / "servicemonitor", folder)]}))
    return render_path(str(folder), "--load-restrictor", "LoadRestrictionsNone")


def by_kind(objects, kind: str) -> list[dict]:
    return [obj for obj in objects if obj["kind"] == kind]


def named(objects, kind: str, name: str) -> dict:
    found = [obj for obj in objects if obj["kind"] == kind and obj["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def workloads(objects) -> list[dict]:
    return [obj for obj in objects if obj["kind"] in WORKLOADS]


def pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def pod_labels(workload: dict) -> dict:
    return workload["spec"]["template"]["metadata"].get("labels", {})


def containers(workload: dict, init: bool = True) -> list[dict]:
    spec = pod_spec(workload)
    return spec["containers"] + (spec.get("initContainers", []) if init else [])


def is_marketplace(workload: dict) -> bool:
    return any(c["image"].split("/")[-1].split(":")[0] in PROCESS_DIRS for c in containers(workload))


def image_name(container: dict) -> str:
    return container["image"].rsplit("/", 1)[-1].split(":")[0]


def kn(obj: dict) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


PROCESS_DIRS = {"gateway": "gateway", "catalog-service": "catalog-service", "install-service": "install-service",
                "review-service": "review-service", "webhook-service": "webhook-service", "web": "web"}


# -- schemas ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_of_the_overlay_validates_against_the_kubernetes_schemas(overlay, version):
    objects = render(overlay)
    assert len(objects) > 50
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{overlay}: {kn(obj)} is not valid Kubernetes {version}: {error.message} at "
                        f"{'/'.join(map(str, error.path))}")


def test_the_servicemonitor_component_adds_a_valid_servicemonitor(with_servicemonitor):
    for obj in with_servicemonitor:
        if obj["kind"] == "ServiceMonitor":
            continue  # a Prometheus Operator CRD: no schema in kubernetes-validate, checked below
        kubernetes_validate.validate(obj, KUBERNETES_VERSIONS[-1], strict=True)
    monitor = named(with_servicemonitor, "ServiceMonitor", "plugin-marketplace")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(monitor["spec"]) == {"selector", "endpoints"}
    wanted = monitor["spec"]["selector"]["matchLabels"]
    scraped = [s for s in by_kind(with_servicemonitor, "Service") if wanted.items() <= s["metadata"]["labels"].items()]
    servers = [d for d in by_kind(with_servicemonitor, "Deployment")
               if pod_labels(d)["app.kubernetes.io/component"] == "server"]
    assert {s["metadata"]["name"] for s in scraped} == {d["metadata"]["name"] for d in servers}
    for service in scraped:
        assert [p["name"] for p in service["spec"]["ports"]] == ["http"]
    assert monitor["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s"}]


# -- workload rules ------------------------------------------------------------------------------------

@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_workload_is_non_root_read_only_and_bounded(overlay):
    found = workloads(render(overlay))
    assert len(found) >= 15
    for workload in found:
        spec = pod_spec(workload)
        pod_security = spec.get("securityContext", {})
        assert spec.get("automountServiceAccountToken") is False, kn(workload)
        assert pod_security.get("seccompProfile", {}).get("type") == "RuntimeDefault", kn(workload)
        mounts_by_volume = {v["name"]: v for v in spec.get("volumes", [])}
        for container in containers(workload):
            where = f"{overlay} {kn(workload)} container {container['name']}"
            security = {**pod_security, **container.get("securityContext", {})}
            assert security.get("runAsNonRoot") is True, where
            assert security.get("runAsUser", 0) != 0, where
            assert security.get("allowPrivilegeEscalation") is False, where
            assert security.get("readOnlyRootFilesystem") is True, where
            assert security.get("privileged", False) is False, where
            assert "ALL" in security.get("capabilities", {}).get("drop", []), where
            assert not security.get("capabilities", {}).get("add"), where
            resources = container.get("resources", {})
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(bound, {})), f"{where}: {bound}"
            image = container["image"]
            assert re.fullmatch(r"[a-z0-9./-]+:[A-Za-z0-9._-]+", image), f"{where}: {image} has no tag"
            assert not image.endswith(":latest"), f"{where}: {image}"
            assert container.get("imagePullPolicy") != "Always" or "@" in image, where
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in mounts_by_volume or mount["name"] in {
                    t["metadata"]["name"] for t in workload["spec"].get("volumeClaimTemplates", [])}, where
            if is_marketplace(workload):
                # Python, gunicorn and the workers write only to /tmp: an emptyDir on a read-only root.
                tmp = [m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
                assert tmp and "emptyDir" in mounts_by_volume[tmp[0]["name"]], where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_long_running_processes_have_startup_readiness_and_liveness_probes(overlay):
    objects = render(overlay)
    for workload in by_kind(objects, "Deployment") + by_kind(objects, "StatefulSet"):
        for container in containers(workload, init=False):
            where = f"{overlay} {kn(workload)}"
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert probe in container, f"{where}: no {probe}"
            if pod_labels(workload).get("app.kubernetes.io/component") == "server":
                assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", where
                assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", where
                assert container["startupProbe"]["httpGet"]["path"] == "/healthz", where
                annotations = workload["spec"]["template"]["metadata"]["annotations"]
                port = container["ports"][0]["containerPort"]
                assert annotations == {"prometheus.io/scrape": "true", "prometheus.io/port": str(port),
                                       "prometheus.io/path": "/metrics"}, where
            elif pod_labels(workload).get("app.kubernetes.io/component") == "worker":
                # Workers have no HTTP port: they touch HEARTBEAT_FILE while their loop runs.
                env = {e["name"]: e.get("value") for e in container["env"]}
                assert env["HEARTBEAT_FILE"] == "/tmp/heartbeat", where
                assert "HEARTBEAT_FILE" in " ".join(container["livenessProbe"]["exec"]["command"]), where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_http_processes_have_a_service_a_disruption_budget_and_an_autoscaler(overlay):
    objects = render(overlay)
    deployments = by_kind(objects, "Deployment")
    servers = [d for d in deployments if pod_labels(d)["app.kubernetes.io/component"] == "server"]
    assert {d["metadata"]["name"] for d in servers} == set(PROCESS_DIRS)
    workers = [d for d in deployments if pod_labels(d)["app.kubernetes.io/component"] == "worker"]
    assert {d["metadata"]["name"] for d in workers} == {"catalog-worker", "install-worker", "review-worker",
                                                        "webhook-worker"}
    for deployment in servers + workers:
        labels = pod_labels(deployment)
        selects = [p for p in by_kind(objects, "PodDisruptionBudget")
                   if p["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert len(selects) == 1, kn(deployment)
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0, kn(deployment)
    for deployment in servers:
        name = deployment["metadata"]["name"]
        labels = pod_labels(deployment)
        services = [s for s in by_kind(objects, "Service") if s["spec"].get("selector")
                    and s["spec"]["selector"].items() <= labels.items()]
        assert [s["metadata"]["name"] for s in services] == [name]
        autoscaler = named(objects, "HorizontalPodAutoscaler", name)
        assert autoscaler["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert autoscaler["spec"]["minReplicas"] <= autoscaler["spec"]["maxReplicas"]
        assert autoscaler["spec"]["minReplicas"] == deployment["spec"]["replicas"], name
    ingresses = by_kind(objects, "Ingress")
    assert len(ingresses) == 1
    backends = {path["backend"]["service"]["name"] for rule in ingresses[0]["spec"]["rules"]
                for path in rule["http"]["paths"]}
    assert backends == {"gateway"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_migration_job_per_database_and_pods_wait_for_it(overlay):
    objects = render(overlay)
    jobs = {image_name(c): job for job in by_kind(objects, "Job") for c in containers(job)}
    for workload in by_kind(objects, "Deployment"):
        if not is_marketplace(workload):
            continue
        main = containers(workload, init=False)[0]
        uses_database = any(e["name"] == "DATABASE_URL" for e in main.get("env", []))
        if not uses_database:
            assert "initContainers" not in pod_spec(workload), kn(workload)
            continue
        job = jobs[image_name(main)]
        (migrate,) = containers(job)
        assert migrate["image"] == main["image"], kn(workload)
        assert migrate["command"][:2] == ["python", "-m"] and migrate["command"][2].endswith(".migrate")
        (wait,) = pod_spec(workload)["initContainers"]
        assert wait["image"] == main["image"], kn(workload)
        assert wait["command"][:2] == ["python", "/opt/marketplace/wait_for_migrations.py"], kn(workload)
        assert env_source(wait, "DATABASE_URL") == env_source(main, "DATABASE_URL") == env_source(migrate,
                                                                                                  "DATABASE_URL")
    assert len(jobs) == 5


def env_source(container: dict, name: str):
    (entry,) = [e for e in container["env"] if e["name"] == name]
    return entry.get("valueFrom") or entry.get("value")


# -- settings and secrets ------------------------------------------------------------------------------

def documented_secret_keys() -> set[tuple[str, str]]:
    """(Secret, key) pairs of the table in deploy/kubernetes/README.md."""
    text = (KUSTOMIZE / "README.md").read_text()
    return set(re.findall(r"^\| `([a-z0-9-]+)` \| `([A-Za-z0-9_.]+)` \|", text, re.MULTILINE))


def references(workload: dict):
    """(kind, name, key or None) of every ConfigMap and Secret a pod reads."""
    for container in containers(workload):
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                yield "ConfigMap", source["configMapRef"]["name"], None, False
            if "secretRef" in source:
                yield "Secret", source["secretRef"]["name"], None, source["secretRef"].get("optional", False)
        for entry in container.get("env", []):
            value_from = entry.get("valueFrom", {})
            if "secretKeyRef" in value_from:
                ref = value_from["secretKeyRef"]
                yield "Secret", ref["name"], ref["key"], ref.get("optional", False)
            if "configMapKeyRef" in value_from:
                ref = value_from["configMapKeyRef"]
                yield "ConfigMap", ref["name"], ref["key"], ref.get("optional", False)
    for volume in pod_spec(workload).get("volumes", []):
        if "configMap" in volume:
            yield "ConfigMap", volume["configMap"]["name"], None, False
        if "secret" in volume:
            yield "Secret", volume["secret"]["secretName"], None, False


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_configmap_and_secret_key_read_is_defined_or_documented(overlay):
    objects = render(overlay)
    defined = {(obj["kind"], obj["metadata"]["name"]): {**obj.get("data", {}), **obj.get("stringData", {})}
               for obj in objects if obj["kind"] in ("ConfigMap", "Secret")}
    documented = documented_secret_keys()
    assert len(documented) >= 10
    undocumented = []
    for workload in workloads(objects):
        for kind, name, key, optional in references(workload):
            where = f"{overlay} {kn(workload)} reads {kind} {name} {key or ''}"
            if (kind, name) in defined:
                assert key is None or key in defined[(kind, name)], where
            elif kind == "ConfigMap":
                pytest.fail(f"{where}: no such ConfigMap")  # settings always come with the manifests
            elif overlay == "dev" and not optional:
                pytest.fail(f"{where}: the dev overlay must define every Secret it needs")
            elif (name, key) not in documented and key is not None:
                undocumented.append(where)
    assert not undocumented, undocumented
    for ingress in by_kind(objects, "Ingress"):
        for tls in ingress["spec"].get("tls", []):
            assert ("Secret", tls["secretName"]) in defined or {(tls["secretName"], "tls.crt"),
                                                                (tls["secretName"], "tls.key")} <= documented


@cache
def source_text(directory: str) -> str:
    roots = [REPO / directory / "src", REPO / directory / "gunicorn.conf.py", REPO / "shared" / "src"]
    files = [path for root in roots for path in ([root] if root.is_file() else root.rglob("*.py"))]
    return "\n".join(path.read_text() for path in files)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_settings_carry_the_names_the_processes_read(overlay):
    """A misspelt setting would be silently ignored: each name given to a process appears in its code."""
    objects = render(overlay)
    configmaps = {obj["metadata"]["name"]: obj.get("data", {}) for obj in by_kind(objects, "ConfigMap")}
    checked = 0
    for workload in workloads(objects):
        for container in containers(workload):
            if image_name(container) not in PROCESS_DIRS:
                continue
            names = {entry["name"] for entry in container.get("env", [])}
            for source in container.get("envFrom", []):
                names |= set(configmaps[source["configMapRef"]["name"]])
            code = source_text(PROCESS_DIRS[image_name(container)])
            for name in names - RUNTIME_SETTINGS - INIT_SETTINGS:
                assert f'"{name}"' in code or f"'{name}'" in code, \
                    f"{overlay} {kn(workload)}: {name} is read by nothing in {PROCESS_DIRS[image_name(container)]}"
                checked += 1
    assert checked > 100


def test_the_wait_for_migrations_script_is_the_one_the_manifests_mount():
    """The base ships the script from base/scripts (a configMapGenerator), mounted where the init container runs it."""
    objects = render("dev")
    (scripts,) = [c for c in by_kind(objects, "ConfigMap") if c["metadata"]["name"].startswith("marketplace-scripts")]
    assert scripts["data"]["wait_for_migrations.py"] == (
        KUSTOMIZE / "base" / "scripts" / "wait_for_migrations.py").read_text()


# -- overlays ------------------------------------------------------------------------------------------

def test_dev_runs_its_own_datastores_on_volumes_and_one_replica_each():
    objects = render("dev")
    for name, port in (("postgres", 5432), ("rabbitmq", 5672), ("redis", 6379)):
        statefulset = named(objects, "StatefulSet", name)
        assert statefulset["spec"]["replicas"] == 1
        assert statefulset["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
        service = named(objects, "Service", name)
        assert service["spec"]["ports"][0]["port"] == port
    for deployment in by_kind(objects, "Deployment"):
        assert deployment["spec"]["replicas"] == 1, kn(deployment)
    assert {obj["metadata"]["namespace"] for obj in objects if obj["kind"] != "Namespace"} == {"marketplace-dev"}


def test_production_expects_external_datastores_and_runs_replicas_across_nodes():
    objects = render("production")
    assert not by_kind(objects, "StatefulSet")
    assert not by_kind(objects, "Secret")  # every secret comes from outside (documented in the README)
    for deployment in by_kind(objects, "Deployment"):
        name = deployment["metadata"]["name"]
        assert deployment["spec"]["replicas"] >= 2, name
        terms = pod_spec(deployment)["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
        assert terms[0]["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname", name
        assert terms[0]["podAffinityTerm"]["labelSelector"]["matchLabels"].items() <= pod_labels(deployment).items()
        assert containers(deployment)[0]["image"].startswith("registry.example.com/plugin-marketplace/"), name
    # Artifacts in the bucket, not on a volume; installs on a ReadWriteMany claim.
    catalog_config = named(objects, "ConfigMap", "catalog-service-config")["data"]
    assert catalog_config["ARTIFACT_S3_BUCKET"]
    assert [c["metadata"]["name"] for c in by_kind(objects, "PersistentVolumeClaim")] == ["install-root"]
    assert named(objects, "PersistentVolumeClaim", "install-root")["spec"]["accessModes"] == ["ReadWriteMany"]
    for name in ("catalog-service", "catalog-worker"):
        assert all("persistentVolumeClaim" not in v for v in pod_spec(named(objects, "Deployment", name))["volumes"])
    for name in ("install-service", "install-worker"):
        volumes = pod_spec(named(objects, "Deployment", name))["volumes"]
        assert {"name": "install-root", "persistentVolumeClaim": {"claimName": "install-root"}} in volumes
    ingress = by_kind(objects, "Ingress")[0]
    assert ingress["spec"]["tls"][0]["secretName"] == "marketplace-tls"


# -- network policies --------------------------------------------------------------------------------------

def selector_matches(selector: dict, labels: dict) -> bool:
    if labels is None:
        return False
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] in ("In", "NotIn", "Exists", "DoesNotExist"), expression
        present = expression["key"] in labels
        value = labels.get(expression["key"])
        if expression["operator"] == "In" and value not in expression["values"]:
            return False
        if expression["operator"] == "NotIn" and value in expression["values"]:
            return False
        if expression["operator"] == "Exists" and not present:
            return False
        if expression["operator"] == "DoesNotExist" and present:
            return False
    return True


NAMESPACE = {"kubernetes.io/metadata.name": "marketplace-dev"}
# Pods of other namespaces that matter: the Ingress controller and Prometheus.
VISITORS = {"ingress-controller": {"kubernetes.io/metadata.name": "ingress-nginx"},
            "prometheus": {"kubernetes.io/metadata.name": "monitoring"}}


def peer_matches(peer: dict, namespace: dict | None, labels: dict) -> bool:
    """Does a policy peer admit a pod (its namespace's labels and its own), or, with namespace None, an address
    outside the cluster?"""
    if namespace is None:
        return "ipBlock" in peer
    if "ipBlock" in peer:
        return False  # pod addresses are private: every ipBlock here excludes the private ranges
    if "namespaceSelector" in peer:
        return (selector_matches(peer["namespaceSelector"], namespace)
                and selector_matches(peer.get("podSelector", {}), labels))
    return namespace == NAMESPACE and selector_matches(peer["podSelector"], labels)


def port_matches(rule: dict, port: int) -> bool:
    return "ports" not in rule or any(p.get("port") == port for p in rule["ports"])


def allowed(policies, direction: str, subject: dict, namespace: dict | None, other: dict, port: int) -> bool:
    """Kubernetes semantics: isolated once a policy of that direction selects the pod; then any rule admits."""
    key, peers = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    selecting = [p for p in policies if direction in p["spec"]["policyTypes"]
                 and selector_matches(p["spec"]["podSelector"], subject)]
    if not selecting:
        return True
    return any(port_matches(rule, port) and (peers not in rule
                                             or any(peer_matches(peer, namespace, other) for peer in rule[peers]))
               for policy in selecting for rule in policy["spec"].get(key, []))


def reachable(objects) -> set[tuple[str, str]]:
    policies = by_kind(objects, "NetworkPolicy")
    pods = {pod_labels(w)["app.kubernetes.io/name"]: (w, pod_labels(w)) for w in workloads(objects)}
    paths = set()
    for target, (workload, target_labels) in pods.items():
        for port in [p["containerPort"] for c in containers(workload, init=False) for p in c.get("ports", [])]:
            for source, (_w, source_labels) in pods.items():
                if (allowed(policies, "Egress", source_labels, NAMESPACE, target_labels, port)
                        and allowed(policies, "Ingress", target_labels, NAMESPACE, source_labels, port)):
                    paths.add((source, target))
            for visitor, namespace in VISITORS.items():
                if allowed(policies, "Ingress", target_labels, namespace, {}, port):
                    paths.add((visitor, target))
    return paths


def test_only_the_gateway_reaches_the_services_and_only_their_processes_the_datastores():
    objects = render("dev")
    paths = reachable(objects)
    database_users = set()
    broker_users = set()
    redis_users = set()
    for workload in workloads(objects):
        env = {e["name"] for c in containers(workload) for e in c.get("env", [])}
        name = pod_labels(workload)["app.kubernetes.io/name"]
        if "DATABASE_URL" in env:
            database_users.add(name)
        if "AMQP_URL" in env:
            broker_users.add(name)
        if "REDIS_URL" in env:
            redis_users.add(name)
    servers = {"gateway", "catalog-service", "install-service", "review-service", "webhook-service", "web"}
    expected = {("ingress-controller", "gateway"), ("web", "gateway")} | {("prometheus", s) for s in servers}
    expected |= {("gateway", s) for s in ("catalog-service", "install-service", "review-service", "webhook-service",
                                          "web")}
    expected |= {("install-service", "catalog-service"), ("install-worker", "catalog-service")}
    expected |= {(user, "postgres") for user in database_users}
    expected |= {(user, "rabbitmq") for user in broker_users}
    expected |= {(user, "redis") for user in redis_users}
    assert paths == expected, {"unexpected": sorted(paths - expected), "missing": sorted(expected - paths)}
    assert "web" not in database_users and "gateway" not in broker_users
    assert {"catalog-migrate", "catalog-worker", "catalog-service"} <= database_users
    # Webhook deliveries leave the cluster only to public addresses, and only from the webhook worker.
    policies = by_kind(objects, "NetworkPolicy")
    outward = {pod_labels(w)["app.kubernetes.io/name"] for w in workloads(objects)
               if allowed(policies, "Egress", pod_labels(w), None, {}, 8443)}
    assert outward == {"webhook-worker"}
    https = {pod_labels(w)["app.kubernetes.io/name"] for w in workloads(objects)
             if allowed(policies, "Egress", pod_labels(w), None, {}, 443)}
    assert https == {"webhook-worker", "gateway", "catalog-service", "catalog-worker"}
