"""Development-time converter: official sandbox YAML files → the JSON fixtures the simulator ships.

Run it when the upstream sandbox data changes, then commit `fixtures/`:

    .venv/bin/python -m app.simulators.api_particulier.convert <staging-payloads-dir>

The simulator never reads the upstream folder at run time: only the converted fixtures.
Each case keeps its `params`, `status`, `title`/`description` and its `payload` parsed as JSON,
verbatim (misspelled keys included: they are what the real sandbox serves).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from app.simulators.api_particulier.catalogue import DOSSIER_FRANCE_CONNECT, ENDPOINTS

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
LICENCE_FILE = "LICENSE-staging-data.txt"
FORMAT_VERSION = 1


def _convert_case(path: Path) -> dict[str, Any]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or "params" not in raw or "status" not in raw:
        raise ValueError(f"{path.name}: a sandbox case needs `params` and `status`")
    case: dict[str, Any] = {
        "fichier": path.name,
        "title": raw.get("title"),
        "description": raw.get("description"),
        "params": raw["params"],
        "status": int(raw["status"]),
        "payload": json.loads(raw["payload"]),
    }
    if "api_path" in raw:
        case["api_path"] = raw["api_path"]
    return case


def _cases(folder: Path) -> list[dict[str, Any]]:
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))
    if not files:
        raise ValueError(f"{folder}: no sandbox case found")
    return [_convert_case(p) for p in files]


def convert(source: Path, destination: Path = FIXTURES_DIR) -> list[Path]:
    """Write one JSON file per endpoint folder (plus the FranceConnect identities and the licence)."""
    destination.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for endpoint in ENDPOINTS:
        document = {
            "format": FORMAT_VERSION,
            "dossier": endpoint.dossier,
            "endpoint": endpoint.path,
            "cas": _cases(source / endpoint.dossier),
        }
        written.append(_write(destination / f"{endpoint.dossier}.json", document))
    identites = {
        "format": FORMAT_VERSION,
        "dossier": DOSSIER_FRANCE_CONNECT,
        "cas": _cases(source / DOSSIER_FRANCE_CONNECT),
    }
    written.append(_write(destination / f"{DOSSIER_FRANCE_CONNECT}.json", identites))
    licence = (source.parent / LICENCE_FILE).read_text(encoding="utf-8")
    notice = (
        "The JSON files of this folder are converted from the official API Particulier sandbox data\n"
        "(datagouv/apistration, mocks/payloads), distributed under the following licence.\n\n"
    )
    licence_path = destination / "LICENSE"
    licence_path.write_text(notice + licence, encoding="utf-8")
    written.append(licence_path)
    return written


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("source", type=Path, help="the upstream staging-payloads folder")
    parser.add_argument("--destination", type=Path, default=FIXTURES_DIR)
    args = parser.parse_args(argv)
    for path in convert(args.source, args.destination):
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
