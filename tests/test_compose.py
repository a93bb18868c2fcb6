"""The compose files and the image as shipped: a sandbox stack that works with nothing set, a
production override that demands its secrets, a build context without the virtualenv, multi-process
metrics, règlements as a volume, healthchecks everywhere (issue 12)."""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from app import metrics
from app.config import PROJECT_ROOT


def _compose_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location("compose_check", PROJECT_ROOT / ".ci" / "compose_check.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="paquet Debian docker-compose absent")
def test_rendered_compose_configurations_pass_the_ci_check() -> None:
    assert _compose_check().verifier() == []


def test_the_check_refuses_an_empty_token_and_a_service_without_healthcheck() -> None:
    """What the shipped stack rendered before: `API_PARTICULIER_TOKEN: ''`, no gateway healthcheck."""
    rendu: dict[str, Any] = {
        "services": {
            "gateway": {
                "environment": {
                    "GATEWAY_MODE": "sandbox",
                    "API_PARTICULIER_TOKEN": "",
                    "API_PARTICULIER_URL": "",
                },
            },
            "redis": {"healthcheck": {"test": ["CMD", "redis-cli", "ping"]}},
        }
    }
    assert _compose_check().problemes_de_rendu(rendu, "sandbox") == [
        "service gateway : pas de healthcheck",
        "service gateway : API_PARTICULIER_TOKEN est rendu vide",
        "service gateway : API_PARTICULIER_URL est rendu vide",
        "service gateway : les règlements ne sont pas montés (/srv/reglements)",
    ]


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the runtime stage, continuation lines joined."""
    texte = re.sub(r"\\\n\s*", " ", dockerfile)
    runtime = texte[texte.index("AS runtime") :]
    lignes = [
        ligne.strip() for ligne in runtime.splitlines()[1:] if ligne.strip() and not ligne.startswith("#")
    ]
    return [(ligne.split(" ", 1)[0], ligne.split(" ", 1)[1]) for ligne in lignes]


def test_the_image_sets_up_multiprocess_metrics_reglements_volume_and_readiness() -> None:
    instructions = _instructions((PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8"))
    env = " ".join(a for i, a in instructions if i == "ENV")
    assert "PROMETHEUS_MULTIPROC_DIR=/tmp/eg-metriques" in env
    dossier = "/tmp/eg-metriques"  # noqa: S108 - the path in the image, not a temporary file here
    assert any(i == "RUN" and dossier in a and "chown gateway" in a for i, a in instructions)
    [volume] = [a for i, a in instructions if i == "VOLUME"]
    assert "/srv/reglements" in volume
    [healthcheck] = [a for i, a in instructions if i == "HEALTHCHECK"]
    assert "/readyz" in healthcheck
    assert ("USER", "gateway") in instructions
    assert any(i == "CMD" and "--workers" in a for i, a in instructions)


def test_the_build_context_leaves_out_the_virtualenv_and_secrets() -> None:
    ignore = (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    for motif in (".venv", ".git", ".env", "var", "**/__pycache__"):
        assert motif in ignore
    # What the Dockerfile copies stays in the context.
    for copie in ("app", "reglements", "pyproject.toml", "README.md", "requirements.lock"):
        assert copie not in ignore


def test_serve_empties_the_multiprocess_metrics_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dossier = tmp_path / "metriques"
    dossier.mkdir()
    (dossier / "counter_1234.db").write_bytes(b"ancien worker")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(dossier))
    assert metrics.preparer_multiprocessus() == str(dossier)
    assert list(dossier.iterdir()) == []
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "absent" / "cree"))
    assert metrics.preparer_multiprocessus() is not None
    assert (tmp_path / "absent" / "cree").is_dir()
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    assert metrics.preparer_multiprocessus() is None
