"""Checks of deploy/ and scripts/install.sh that need no Docker engine or cluster (neither
is available where the tests run): the YAML parses and hangs together (selectors, probes,
names, env vars the binary knows), the image installs every library the binary links,
and install.sh lays out a working service tree."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import REPO, Server, clean_env, gen_key

DEPLOY = REPO / "deploy"


def load_all(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def known_env_names() -> set[str]:
    """AGENTLOG_* variables the binary reads, derived from cli/config.cc."""
    src = (REPO / "server/src/cli/config.cc").read_text()
    known = re.search(r"kKnown\[\] = \{(.*?)\};", src, re.S).group(1)
    names = {"AGENTLOG_" + k.upper() for k in re.findall(r'"([a-z_]+)"', known)}
    special = dict(re.findall(r'if \(key == "([a-z_]+)"\) return "(AGENTLOG_[A-Z_]+)";', src))
    for key, env in special.items():
        names.discard("AGENTLOG_" + key.upper())
        names.add(env)
    return names | {"AGENTLOG_CONFIG"}


def test_env_names_used_in_deploy_files_are_ones_the_binary_reads():
    names = known_env_names()
    assert {"AGENTLOG_DATABASE_URL", "AGENTLOG_REDIS_URL", "AGENTLOG_LISTEN", "AGENTLOG_DATA"} <= names
    used = set()
    for f in list(DEPLOY.rglob("*")) + [REPO / "scripts/install.sh"]:
        if f.is_file():
            used |= set(re.findall(r"\bAGENTLOG_[A-Z_]+\b", f.read_text()))
    used -= {"AGENTLOG_PORT"}  # compose's published port, not the binary's
    assert used, "no settings found"
    assert used <= names, f"unknown to the binary: {sorted(used - names)}"


def test_compose_file_wires_two_replicas_to_postgres_redis_and_the_proxy():
    compose = yaml.safe_load((DEPLOY / "compose/docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "agentlog-1", "agentlog-2", "proxy"} <= services.keys()
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("agentlog-1", "agentlog-2"):
        svc = services[name]
        env = svc["environment"]
        assert env["AGENTLOG_DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["AGENTLOG_DATABASE_URL"]
        assert env["AGENTLOG_REDIS_URL"].startswith("redis://") and "@redis:6379" in env["AGENTLOG_REDIS_URL"]
        assert env["AGENTLOG_LISTEN"] == "0.0.0.0:7654"
        assert svc["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert (REPO / svc["build"]["dockerfile"]).is_file()
        assert (DEPLOY / "compose" / svc["build"]["context"]).resolve() == REPO
    for name in ("postgres", "redis"):
        assert "healthcheck" in services[name]
    nginx = (DEPLOY / "compose/nginx.conf").read_text()
    assert "agentlog-1:7654" in nginx and "agentlog-2:7654" in nginx
    stream = nginx[nginx.index("location = /v1/stream"):]
    assert "proxy_buffering off" in stream
    mount = services["proxy"]["volumes"][0].split(":")[0]
    assert (DEPLOY / "compose" / mount).resolve() == DEPLOY / "compose/nginx.conf"
    example = dict(l.split("=", 1) for l in (DEPLOY / "compose/example.env").read_text().splitlines()
                   if l and not l.startswith("#"))
    required = set(re.findall(r"\$\{([A-Z_]+):\?", (DEPLOY / "compose/docker-compose.yml").read_text()))
    assert required <= example.keys()


def resources(directory: Path) -> dict[tuple[str, str], dict]:
    """Every object a kustomization lists, following nested kustomization directories."""
    kust = yaml.safe_load((directory / "kustomization.yaml").read_text())
    out = {}
    for rel in kust["resources"]:
        path = (directory / rel).resolve()
        if path.is_dir():
            out.update(resources(path))
            continue
        for doc in load_all(path):
            out[(doc["kind"], doc["metadata"]["name"])] = doc
    return out


@pytest.mark.parametrize("variant", ["", "sqlite"])
def test_kubernetes_manifests_hang_together(variant):
    res = resources(DEPLOY / "k8s" / variant)
    deploy = res[("Deployment", "agentlog")]
    pod = deploy["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert deploy["spec"]["selector"]["matchLabels"].items() <= labels.items()
    svc = res[("Service", "agentlog")]
    assert svc["spec"]["selector"].items() <= labels.items()
    (container,) = pod["spec"]["containers"]
    port_names = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert port_names == {"http": 7654}
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["port"] in port_names
    assert svc["spec"]["ports"][0]["targetPort"] in port_names
    sec = pod["spec"]["securityContext"]
    assert sec["runAsNonRoot"] is True and sec["runAsUser"] == 10001
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    for ref in container.get("envFrom", []):
        kind, name = ("ConfigMap", ref["configMapRef"]["name"]) if "configMapRef" in ref else (
            "Secret", ref["secretRef"]["name"])
        assert (kind, name) in res, f"{kind} {name} is referenced but not defined"
    names = known_env_names()
    for (kind, _), doc in res.items():
        if kind == "ConfigMap":
            assert set(doc["data"]) <= names
        if kind == "Secret":
            assert set(doc["stringData"]) <= names
    if variant == "":
        assert deploy["spec"]["replicas"] >= 2
        assert {"AGENTLOG_DATABASE_URL", "AGENTLOG_REDIS_URL"} <= set(res[("Secret", "agentlog")]["stringData"])
        hpa = res[("HorizontalPodAutoscaler", "agentlog")]
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "agentlog"}
        assert hpa["spec"]["minReplicas"] >= 2
        pdb = res[("PodDisruptionBudget", "agentlog")]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert not any(kind == "StatefulSet" for kind, _ in res)
    else:
        assert deploy["spec"]["replicas"] == 1 and deploy["spec"]["strategy"]["type"] == "Recreate"
        claim = pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]
        assert ("PersistentVolumeClaim", claim) in res


@pytest.mark.parametrize("variant", ["", "sqlite"])
def test_kustomize_renders(variant):
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl is not installed: the structural checks above still ran")
    out = subprocess.run([kubectl, "kustomize", str(DEPLOY / "k8s" / variant)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    kinds = {d["kind"] for d in yaml.safe_load_all(out.stdout) if d}
    assert {"Deployment", "Service", "ConfigMap", "Namespace"} <= kinds


def test_configmap_settings_start_the_real_binary(agentlog_bin, tmp_path):
    cm = yaml.safe_load((DEPLOY / "k8s/common/configmap.yaml").read_text())["data"]
    env = dict(cm, AGENTLOG_LISTEN="127.0.0.1:0")  # loopback here, not 0.0.0.0
    s = Server(agentlog_bin, tmp_path / "data", key=gen_key(), env=env, listen=None).start()
    try:
        assert s.request("GET", "/readyz").status == 200
    finally:
        assert s.stop() == 0


def test_dockerfile_is_multistage_non_root_and_ships_every_linked_library(agentlog_bin):
    text = (DEPLOY / "docker/Dockerfile").read_text()
    froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert len(froms) >= 2 and all(f.startswith("debian:12") for f in froms)
    assert "bash scripts/install-deps.sh" in text and "make build" in text, "the build must be CI's build"
    assert re.search(r"^USER\s+10001", text, re.M)
    assert re.search(r"^HEALTHCHECK .*?/healthz", text, re.M | re.S)
    runtime = text[text.rindex("FROM "):]
    installed = set(re.findall(r"\b(lib[a-z0-9.+-]+|zlib1g|ca-certificates)\b", runtime))
    needed = subprocess.run(["objdump", "-p", agentlog_bin], capture_output=True, text=True, check=True).stdout
    libs = re.findall(r"NEEDED\s+(\S+)", needed)
    ldd = subprocess.run(["ldd", agentlog_bin], capture_output=True, text=True, check=True).stdout
    paths = {m.group(1): m.group(2) for m in re.finditer(r"^\s*(\S+) => (\S+)", ldd, re.M)}
    base = {"libc6", "libstdc++6", "libgcc-s1"}  # in every Debian image
    missing = []
    for lib in libs:
        path = os.path.realpath(paths[lib])
        pkg = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True).stdout.split(":")[0]
        if pkg and pkg not in installed | base:
            missing.append(f"{lib} ({pkg})")
    assert not missing, f"the runtime image lacks {missing}"


def test_install_script_lays_out_binary_settings_and_a_valid_unit(agentlog_bin, tmp_path):
    root = tmp_path / "root"
    r = subprocess.run(["bash", str(REPO / "scripts/install.sh"), "--binary", agentlog_bin, "--root", str(root),
                        "--database", "postgres://agentlog:pw@db:5432/agentlog", "--redis", "redis://:pw@cache:6379"],
                       capture_output=True, text=True, timeout=120, env=clean_env())
    assert r.returncode == 0, r.stderr
    assert os.access(root / "usr/local/bin/agentlog", os.X_OK)
    toml = (root / "etc/agentlog/agentlog.toml").read_text()
    assert 'listen = "127.0.0.1:7654"' in toml
    env = (root / "etc/agentlog/agentlog.env").read_text()
    assert "AGENTLOG_DATABASE_URL=postgres://agentlog:pw@db:5432/agentlog" in env
    assert (root / "etc/agentlog/agentlog.env").stat().st_mode & 0o077 == 0, "secrets must not be world-readable"
    unit = (root / "etc/systemd/system/agentlog.service").read_text()
    assert "ExecStart=/usr/local/bin/agentlog serve" in unit and "User=agentlog" in unit
    # The settings file it wrote is one the binary accepts.
    out = subprocess.run([str(root / "usr/local/bin/agentlog"), "migrate", "--config",
                          str(root / "etc/agentlog/agentlog.toml"), "--data", str(tmp_path / "data")],
                         capture_output=True, text=True, timeout=60, env=clean_env())
    assert out.returncode == 0, out.stderr
    if shutil.which("systemd-analyze"):
        # Verified against this machine's units, with ExecStart pointing at the installed copy.
        copy = tmp_path / "agentlog.service"
        copy.write_text(unit.replace("/usr/local/bin/agentlog", str(root / "usr/local/bin/agentlog")))
        v = subprocess.run(["systemd-analyze", "verify", "--man=no", str(copy)], capture_output=True, text=True,
                           timeout=60)
        assert v.returncode == 0, v.stderr
    again = subprocess.run(["bash", str(REPO / "scripts/install.sh"), "--binary", agentlog_bin, "--root", str(root),
                            "--listen", "0.0.0.0:9"], capture_output=True, text=True, timeout=120, env=clean_env())
    assert again.returncode == 0, again.stderr
    assert (root / "etc/agentlog/agentlog.toml").read_text() == toml, "re-running keeps existing settings"
