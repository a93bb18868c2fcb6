"""Render the compose files as docker-compose would run them and check what they hand the gateway.

`docker-compose config` resolves every `${VAR…}`; this script then refuses what broke the stack as
shipped (issue 12): an environment value rendered empty (`API_PARTICULIER_TOKEN: ''`: every
upstream call failed), an API Particulier token that is neither non-empty nor the sandbox default
(absent, in sandbox mode). It checks the default stack (sandbox, nothing set), the production
override with its secrets given, and that the override refuses to render without them.

Run by `.ci/run` and by tests/test_compose.py; exit 0 when everything holds, 1 with one line per
problem otherwise. Needs Debian's `docker-compose` (no Docker engine) and PyYAML.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

RACINE = Path(__file__).resolve().parent.parent
DEFAUT = ["-f", "docker-compose.yml"]
PRODUCTION = [*DEFAUT, "-f", "docker-compose.production.yml"]
#: What the production override must be given (dummy values: only the rendering is checked).
SECRETS_DE_PRODUCTION = {
    "GATEWAY_SECRET_KEY": "x" * 40,
    "CACHE_ENCRYPTION_KEYS": "cle-fernet-de-test",
    "API_PARTICULIER_URL": "https://api-particulier.example.invalid",
    "POSTGRES_PASSWORD": "mot-de-passe-de-test",
}
#: Variables of the interface that could reach the gateway from the operator's environment.
_INTERFACE = ("GATEWAY_MODE", "API_PARTICULIER_TOKEN", "API_PARTICULIER_URL", "PORT", *SECRETS_DE_PRODUCTION)


def rendre(fichiers: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    propre = {k: v for k, v in os.environ.items() if k not in _INTERFACE}
    return subprocess.run(  # noqa: S603 - fixed argv, no shell
        ["docker-compose", *fichiers, "config"],  # noqa: S607 - the Debian package's command
        cwd=RACINE,
        env={**propre, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def problemes_de_rendu(rendu: dict[str, Any], mode_attendu: str) -> list[str]:
    """Every problem of a rendered configuration, one line each."""
    problemes: list[str] = []
    for nom, service in rendu.get("services", {}).items():
        if "healthcheck" not in service:
            problemes.append(f"service {nom} : pas de healthcheck")
        env = service.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.split("=", 1) for item in env)
        for variable, valeur in env.items():
            if valeur is None or str(valeur) == "":
                problemes.append(f"service {nom} : {variable} est rendu vide")
        if nom != "gateway":
            continue
        mode = env.get("GATEWAY_MODE", "sandbox")
        if mode != mode_attendu:
            problemes.append(f"service gateway : GATEWAY_MODE={mode}, {mode_attendu} attendu")
        jeton = env.get("API_PARTICULIER_TOKEN")
        if jeton is None and mode != "sandbox" and "API_PARTICULIER_URL" not in env:
            problemes.append("service gateway : ni jeton API Particulier ni valeur par défaut du bac à sable")
        volumes = [str(v.get("target") if isinstance(v, dict) else v) for v in service.get("volumes", [])]
        if not any("/srv/reglements" in v for v in volumes):
            problemes.append("service gateway : les règlements ne sont pas montés (/srv/reglements)")
    return problemes


def verifier() -> list[str]:
    problemes: list[str] = []
    for fichiers, env, mode in ((DEFAUT, {}, "sandbox"), (PRODUCTION, SECRETS_DE_PRODUCTION, "production")):
        sortie = rendre(fichiers, env)
        nom = " ".join(fichiers[1::2])
        if sortie.returncode != 0:
            problemes.append(f"{nom} : docker-compose config a échoué : {sortie.stderr.strip()}")
            continue
        problemes += [f"{nom} : {p}" for p in problemes_de_rendu(yaml.safe_load(sortie.stdout), mode)]
    for manquant in SECRETS_DE_PRODUCTION:
        sans = {k: v for k, v in SECRETS_DE_PRODUCTION.items() if k != manquant}
        for valeur in (None, ""):
            env = sans if valeur is None else {**sans, manquant: valeur}
            sortie = rendre(PRODUCTION, env)
            if sortie.returncode == 0 or manquant not in sortie.stderr:
                etat = "absent" if valeur is None else "vide"
                problemes.append(f"surcharge de production : {manquant} {etat} n'est pas refusé")
    return problemes


def main() -> int:
    problemes = verifier()
    for probleme in problemes:
        print(f"compose : {probleme}", file=sys.stderr)
    if not problemes:
        print("compose : configuration rendue correcte (bac à sable par défaut, surcharge de production)")
    return 1 if problemes else 0


if __name__ == "__main__":
    sys.exit(main())
