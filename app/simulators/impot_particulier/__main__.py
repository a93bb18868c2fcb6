"""Run the API Impôt particulier simulator alone: `python -m app.simulators.impot_particulier --port 9200`."""

from __future__ import annotations

import argparse

import uvicorn

from app.simulators.impot_particulier.app import BASE_PATH, create_impot_simulator_app
from app.simulators.impot_particulier.state import (
    SIMULATEUR_CLIENT_ID,
    SIMULATEUR_CLIENT_SECRET,
    ImpotSimulatorConfig,
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Simulateur de l'API Impôt particulier (DGFiP).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9200)
    parser.add_argument("--latence", type=float, default=0.0, help="latence ajoutée, en secondes")
    parser.add_argument("--quota", type=int, default=50, help="appels par minute et par client")
    args = parser.parse_args(argv)
    config = ImpotSimulatorConfig(latency_seconds=args.latence, quota_per_minute=args.quota)
    print(
        f"API Impôt particulier simulée : http://{args.host}:{args.port}{BASE_PATH} "
        f"(jeton : http://{args.host}:{args.port}/token, client {SIMULATEUR_CLIENT_ID} / "
        f"{SIMULATEUR_CLIENT_SECRET})"
    )
    uvicorn.run(create_impot_simulator_app(config), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
