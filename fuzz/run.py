"""`make fuzz`: schemathesis over every operation of the gateway's OpenAPI, every check.

Starts the gateway in sandbox mode (its embedded simulators, a throwaway SQLite journal, no per-client
limit) on a free loopback port, runs `schemathesis run --checks all` with the demo key and the hooks
of `fuzz/hooks.py`, stops the gateway, and exits with schemathesis's status (0: no failure). The
report goes to `fuzz/results/` (JUnit XML). `FUZZ_MAX_EXAMPLES` sets the examples per operation,
`FUZZ_CHEMINS` (a regular expression) limits the run to the matching paths.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

RACINE = Path(__file__).resolve().parent.parent
CLE_DEMO = "cle-fuzz-demo"


def _port_libre() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    port = _port_libre()
    with tempfile.TemporaryDirectory() as dossier:
        env = {
            **os.environ,
            "GATEWAY_MODE": "sandbox",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "DATABASE_URL": f"sqlite+aiosqlite:///{dossier}/journal.db",
            "GATEWAY_DEMO_API_KEY": CLE_DEMO,
            "CLIENT_RATE_LIMIT_REQUESTS": "0",
            "LOG_LEVEL": "WARNING",
        }
        env.pop("REDIS_URL", None)  # the embedded default: no Redis
        journal = Path(dossier) / "gateway.log"
        with journal.open("wb") as sortie:
            serveur = subprocess.Popen(
                [sys.executable, "-m", "app", "serve"], cwd=RACINE, env=env, stdout=sortie, stderr=sortie
            )
            try:
                _attendre(f"http://127.0.0.1:{port}/healthz", serveur)
                resultats = RACINE / "fuzz" / "results"
                resultats.mkdir(exist_ok=True)
                commande = [
                    str(Path(sys.executable).parent / "schemathesis"),
                    "--config-file",
                    str(RACINE / "fuzz" / "schemathesis.toml"),
                    "run",
                    f"http://127.0.0.1:{port}/openapi.json",
                    "--checks",
                    "all",
                    "--max-examples",
                    os.environ.get("FUZZ_MAX_EXAMPLES", "50"),
                    "--workers",
                    "1",
                    "--seed",
                    os.environ.get("FUZZ_SEED", "15"),
                    "--report",
                    "junit",
                    "--report-dir",
                    str(resultats),
                ]
                if os.environ.get("FUZZ_CHEMINS"):
                    # Only the operations whose path matches (e.g. FUZZ_CHEMINS=campagnes).
                    commande += ["--include-path-regex", os.environ["FUZZ_CHEMINS"]]
                env_st = {
                    **os.environ,
                    "SCHEMATHESIS_HOOKS": "fuzz.hooks",
                    "PYTHONPATH": str(RACINE),
                    "FUZZ_API_KEY": CLE_DEMO,
                }
                return subprocess.run(commande, cwd=RACINE, env=env_st, check=False).returncode  # noqa: S603
            finally:
                serveur.terminate()
                serveur.wait(timeout=30)
                if serveur.returncode not in (0, -15):
                    sys.stderr.write(journal.read_text(errors="replace")[-5000:])


def _attendre(url: str, serveur: subprocess.Popen[bytes]) -> None:
    limite = time.monotonic() + 60
    while time.monotonic() < limite:
        if serveur.poll() is not None:
            raise SystemExit(f"la passerelle s'est arrêtée (code {serveur.returncode})")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("la passerelle n'a pas démarré en 60 s")


if __name__ == "__main__":
    sys.exit(main())
