"""The development-time converter: sandbox YAML folders → JSON fixtures and licence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.simulators.api_particulier.catalogue import DOSSIER_FRANCE_CONNECT, ENDPOINTS
from app.simulators.api_particulier.convert import convert, main

CASE = """---
description: |-
  ## Cas
params:
  nomNaissance: 'DUPONT'
  prenoms:
    - 'JEANNE'
  anneeDateNaissance: 1993
status: 200
payload: |-
  {"data": {"est_beneficiaire": true}, "links": {}, "meta": {}}
"""
FC = """---
title: 'Jeton'
params:
  token: 'all_fc'
api_path: '/v2/x'
status: 200
payload: |-
  {"token_introspection": {"family_name": "X"}}
"""


def _sandbox(root: Path) -> Path:
    source = root / "staging-payloads"
    for endpoint in ENDPOINTS:
        (source / endpoint.dossier).mkdir(parents=True)
        (source / endpoint.dossier / "200.yaml").write_text(CASE, encoding="utf-8")
        (source / endpoint.dossier / "README.md").write_text("ignored", encoding="utf-8")
    (source / DOSSIER_FRANCE_CONNECT).mkdir()
    (source / DOSSIER_FRANCE_CONNECT / "all_fc.yml").write_text(FC, encoding="utf-8")
    (root / "LICENSE-staging-data.txt").write_text(
        "MIT License\nCopyright (c) 2026 DINUM\n", encoding="utf-8"
    )
    return source


def test_convert_writes_one_json_per_folder_and_the_licence(tmp_path: Path) -> None:
    destination = tmp_path / "fixtures"
    written = convert(_sandbox(tmp_path), destination)
    assert len(written) == len(ENDPOINTS) + 2
    document = json.loads((destination / f"{ENDPOINTS[0].dossier}.json").read_text(encoding="utf-8"))
    assert document["endpoint"] == ENDPOINTS[0].path
    assert document["cas"] == [
        {
            "fichier": "200.yaml",
            "title": None,
            "description": "## Cas",
            "params": {"nomNaissance": "DUPONT", "prenoms": ["JEANNE"], "anneeDateNaissance": 1993},
            "status": 200,
            "payload": {"data": {"est_beneficiaire": True}, "links": {}, "meta": {}},
        }
    ]
    fc = json.loads((destination / "france_connect.json").read_text(encoding="utf-8"))
    assert fc["cas"][0]["api_path"] == "/v2/x"
    assert "Copyright (c) 2026 DINUM" in (destination / "LICENSE").read_text(encoding="utf-8")


def test_convert_refuses_a_case_without_status(tmp_path: Path) -> None:
    source = _sandbox(tmp_path)
    (source / ENDPOINTS[0].dossier / "bad.yaml").write_text("params: {}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.yaml"):
        convert(source, tmp_path / "fixtures")


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(_sandbox(tmp_path)), "--destination", str(tmp_path / "out")]) == 0
    assert "france_connect.json" in capsys.readouterr().out


def test_shipped_fixtures_carry_the_licence() -> None:
    fixtures = Path(__file__).resolve().parents[3] / "app" / "simulators" / "api_particulier" / "fixtures"
    assert "MIT License" in (fixtures / "LICENSE").read_text(encoding="utf-8")
    assert len(list(fixtures.glob("*.json"))) == len(ENDPOINTS) + 1
