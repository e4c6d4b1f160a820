"""The container image and the deploy/ examples: built and smoke-tested where docker exists."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_dockerfile_is_slim_non_root_with_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.\d+-slim$", text, re.MULTILINE)
    user = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
    assert user
    assert user[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n.*/healthz", text, re.MULTILINE)
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for secret_or_state in (".env", "*.db", ".venv", ".git", "oncall.toml"):
        assert secret_or_state in ignored


def test_kubernetes_probes_and_secrets() -> None:
    documents = list(yaml.safe_load_all((ROOT / "deploy" / "kubernetes.yaml").read_text(encoding="utf-8")))
    [deployment] = [d for d in documents if d["kind"] == "Deployment"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"secretRef": {"name": "oncall-bot"}} in container["envFrom"]
    env: dict[str, Any] = {e["name"]: e["value"] for e in container["env"]}
    port = env["HEALTH_ADDR"].rpartition(":")[2]
    assert int(port) == container["ports"][0]["containerPort"]
    assert not any("TOKEN" in name or "KEY" in name for name in env)  # secrets only from the Secret


def test_systemd_unit_runs_the_bot_from_an_environment_file() -> None:
    unit = (ROOT / "deploy" / "oncall-bot.service").read_text(encoding="utf-8")
    assert re.search(r"^ExecStart=\S*oncall-bot run$", unit, re.MULTILINE)
    assert "EnvironmentFile=/etc/oncall-bot/env" in unit
    assert "KillSignal=SIGTERM" in unit


def docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the docker CLI (found on PATH by _docker_usable)."""
    binary = shutil.which("docker") or "docker"
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout, check=False)


def _docker_usable() -> str | None:
    if shutil.which("docker") is None:
        return "docker is not installed here: the image is built and smoke-tested where it is"
    if docker("info", timeout=60).returncode != 0:
        return "docker is installed but its daemon is not reachable"
    return None


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    reason = _docker_usable()
    if reason:
        pytest.skip(reason)
    tag = f"oncall-bot-test:{uuid.uuid4().hex[:8]}"
    built = docker("build", "-t", tag, str(ROOT), timeout=900)
    assert built.returncode == 0, built.stderr[-3000:]
    yield tag
    docker("rmi", "-f", tag)


def test_image_runs_as_non_root_with_a_healthcheck(image: str) -> None:
    inspected = docker("image", "inspect", image)
    assert inspected.returncode == 0, inspected.stderr
    config = json.loads(inspected.stdout)[0]["Config"]
    assert config["User"] not in ("", "root", "0")
    assert "/healthz" in " ".join(config["Healthcheck"]["Test"])
    shown = docker("run", "--rm", image, "--help")
    assert shown.returncode == 0, shown.stderr
    assert "backup" in shown.stdout
    made = docker("run", "--rm", "--workdir", "/tmp", image, "init")  # noqa: S108 - inside the container
    assert made.returncode == 0, made.stderr
    assert "wrote manifest.yaml" in made.stdout


def test_compose_runs_two_replicas_on_postgres() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    bots = [name for name, service in services.items() if service.get("image") == "oncall-bot"]
    assert len(bots) == 2
    for name in bots:
        service = services[name]
        assert service["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["env_file"] == "oncall.env"  # tokens only from the env file
        assert not any("TOKEN" in key or "KEY" in key for key in service["environment"])
    assert "postgres" in services["postgres"]["image"]
    assert 'pip install ".[postgres]"' in (ROOT / "Dockerfile").read_text(encoding="utf-8")
