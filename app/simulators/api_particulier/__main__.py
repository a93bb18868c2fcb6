"""Run the API Particulier simulator on its own: `python -m app.simulators.api_particulier --port 9100`."""

from __future__ import annotations

import argparse

import uvicorn

from app.simulators.api_particulier.app import create_simulator_app
from app.simulators.api_particulier.state import SimulatorConfig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Simulateur d'API Particulier v3 (bac à sable).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--period-mode", choices=("production", "static"), default="production")
    parser.add_argument("--latency", type=float, default=0.0, help="latence ajoutée (secondes)")
    parser.add_argument("--quota", type=int, default=20, help="appels par seconde et par jeton (défaut : 20)")
    args = parser.parse_args(argv)
    config = SimulatorConfig(
        period_mode=args.period_mode, latency_seconds=args.latency, rate_limit_per_second=args.quota
    )
    uvicorn.run(create_simulator_app(config), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
