"""The deployment files, checked without Docker (no engine here): docker-compose.yml runs the four
services wired together, the configs it mounts pass `amtool check-config` and `promtool check config`,
the Dockerfile runs as non-root with a HEALTHCHECK that works against a running bot, .env.example names
every setting, and the README keeps its first two commands and gains its deployment sections."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bot.settings import Settings
from tests.harness import RunningBot

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
SECRET_SETTINGS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "ALERT_WEBHOOK_TOKEN", "POSTGRES_PASSWORD")


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _option(command: list[str], name: str) -> str:
    [value] = [item.split("=", 1)[1] for item in command if item.startswith(f"--{name}=")]
    return value


def _host_file(service: dict[str, Any], container_path: str) -> Path:
    """The repository file a service sees at `container_path`, through its bind mounts."""
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if not source.startswith("./"):
            continue
        if container_path == target:
            return ROOT / source
        if container_path.startswith(target.rstrip("/") + "/"):
            return ROOT / source / container_path[len(target.rstrip("/")) + 1:]
    raise AssertionError(f"{container_path} is not mounted from the repository")


def _binary(name: str, package: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} not found; install Debian's `{package}` (`make test` does so via scripts/ensure-system-deps.sh)"
    return found


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def test_compose_runs_the_four_services() -> None:
    services = compose()["services"]
    assert set(services) == {"opsbot", "postgres", "prometheus", "alertmanager"}
    opsbot = services["opsbot"]
    assert opsbot["build"] == "." and "3000:3000" in opsbot["ports"]
    assert opsbot["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in services["postgres"]


def test_opsbot_uses_the_compose_postgres() -> None:
    services = compose()["services"]
    postgres = services["postgres"]["environment"]
    password = "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}"  # compose fills it in from .env
    assert postgres["POSTGRES_PASSWORD"] == password
    url = urlsplit(services["opsbot"]["environment"]["DATABASE_URL"].replace(password, "secret"))
    assert url.scheme == "postgresql+asyncpg" and url.hostname == "postgres" and url.port == 5432
    assert url.path == f"/{postgres['POSTGRES_DB']}" and url.username == postgres["POSTGRES_USER"]
    assert url.password == "secret"


def test_alertmanager_posts_to_opsbot_with_the_bearer_token_and_its_config_checks() -> None:
    document = compose()
    service = document["services"]["alertmanager"]
    config_path = _host_file(service, _option(service["command"], "config.file"))
    result = subprocess.run(
        [_binary("amtool", "prometheus-alertmanager"), "check-config", str(config_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr

    config = yaml.safe_load(config_path.read_text())
    [receiver] = [r for r in config["receivers"] if r["name"] == config["route"]["receiver"]]
    [webhook] = receiver["webhook_configs"]
    url = urlsplit(webhook["url"])
    assert url.hostname == "opsbot" and url.port == 3000 and url.path == "/webhooks/alertmanager"
    assert webhook["send_resolved"] is True
    authorization = webhook["http_config"]["authorization"]
    assert authorization["type"] == "Bearer"
    # The token file is the compose secret made from the same variable opsbot reads.
    secret = Path(authorization["credentials_file"])
    assert secret.parent == Path("/run/secrets") and secret.name in service["secrets"]
    assert document["secrets"][secret.name] == {"environment": "ALERT_WEBHOOK_TOKEN"}
    assert "alert_webhook_token" in Settings.model_fields
    assert document["services"]["opsbot"]["environment"]["ALERT_WEBHOOK_TOKEN"].startswith("${ALERT_WEBHOOK_TOKEN")
    assert _option(service["command"], "web.external-url")  # the Silence buttons link there


def test_prometheus_loads_the_rules_and_alerts_through_alertmanager_and_its_config_checks() -> None:
    service = compose()["services"]["prometheus"]
    config_path = _host_file(service, _option(service["command"], "config.file"))
    result = subprocess.run(
        [_binary("promtool", "prometheus"), "check", "config", str(config_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rules.yml" in result.stdout and "SUCCESS: 14 rules found" in result.stdout

    config = yaml.safe_load(config_path.read_text())
    assert (config_path.parent / config["rule_files"][0]).resolve() == ROOT / "examples" / "prometheus" / "rules.yml"
    targets = [t for am in config["alerting"]["alertmanagers"] for c in am["static_configs"] for t in c["targets"]]
    assert targets == ["alertmanager:9093"]
    scraped = {t for job in config["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    assert "opsbot:3000" in scraped


def test_dockerfile_is_slim_non_root_installs_the_package_and_checks_health() -> None:
    instructions = _dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    assert ("RUN", "pip install . && rm -rf /src") in instructions
    users = [argument for kind, argument in instructions if kind == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    last_user = max(i for i, (kind, _) in enumerate(instructions) if kind == "USER")
    cmd = max(i for i, (kind, _) in enumerate(instructions) if kind == "CMD")
    assert last_user < cmd and instructions[cmd][1] == '["python", "-m", "bot"]'
    [healthcheck] = [argument for kind, argument in instructions if kind == "HEALTHCHECK"]
    assert "/healthz" in healthcheck and " CMD " in f" {healthcheck} "
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".git", ".venv"} <= set(ignored)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_healthcheck_command_passes_on_a_healthy_bot_and_fails_without_one(bot: RunningBot) -> None:
    [healthcheck] = [argument for kind, argument in _dockerfile_instructions() if kind == "HEALTHCHECK"]
    command = shlex.split(healthcheck.split(" CMD ", 1)[1])
    assert command[0] == "python"
    command[0] = sys.executable  # the image's python

    async def run(port: str) -> tuple[int, bytes]:
        process = await asyncio.create_subprocess_exec(
            *command, env={**os.environ, "PORT": port}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        _, stderr = await process.communicate()  # the bot answers meanwhile, on this loop
        return process.returncode or 0, stderr

    status, stderr = await run(bot.url.rsplit(":", 1)[1])
    assert status == 0, stderr
    with socket.socket() as unused:  # a port nothing answers on
        unused.bind(("127.0.0.1", 0))
        nobody = str(unused.getsockname()[1])
    status, _ = await run(nobody)
    assert status != 0


def test_env_example_names_every_setting_with_no_secret_filled_in() -> None:
    text = (ROOT / ".env.example").read_text()
    named = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, re.M))
    assert {name.upper() for name in Settings.model_fields} <= named
    values = dict(re.findall(r"^([A-Z][A-Z0-9_]+)=(.*)$", text, re.M))  # the lines not commented out
    assert all(values[name] == "" for name in SECRET_SETTINGS), values
    assert not re.search(r"xox[abp]-\w|xapp-\w", text)
    compose_variables = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE.read_text()))
    assert compose_variables <= named


def test_readme_keeps_its_two_commands_first_and_has_the_deployment_sections() -> None:
    readme = (ROOT / "README.md").read_text()
    assert readme.startswith(
        "# opsbot\n\n```sh\nmake run     # set up .venv and start the bot"
    )
    assert readme.splitlines()[4].startswith("make test    # set up .venv and the Debian packages the tests use")
    headings = re.findall(r"^## (.+)$", readme, re.M)
    for heading in ("Connect to Slack", "Send alerts from Alertmanager / Grafana / Datadog / New Relic", "Deploy"):
        assert heading in headings
    connect = readme.split("## Connect to Slack\n", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^(\d)\. ", connect, re.M) == ["1", "2", "3", "4", "5"]
    sending = readme.split("## Send alerts from", 1)[1].split("\n## ", 1)[0]
    for endpoint in ("alertmanager", "grafana", "datadog", "newrelic"):
        assert f"/webhooks/{endpoint}" in sending


def test_silences_in_compose_reach_the_compose_alertmanager() -> None:
    """The compose config lets Silence call the Alertmanager whose external URL the webhooks carry."""
    from bot.config import load_config

    services = compose()["services"]
    opsbot = services["opsbot"]
    config = load_config(_host_file(opsbot, opsbot["environment"]["OPSBOT_CONFIG"]))
    external = _option(services["alertmanager"]["command"], "web.external-url")
    default_external = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", external)
    assert config.alertmanager.api_url_for(default_external) == "http://alertmanager:9093"
