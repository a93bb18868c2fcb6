"""Simulator of DGFiP's API Impôt particulier: OAuth2 token, IR endpoints, sandbox and fictitious foyers."""

from app.simulators.faults import FaultInjection
from app.simulators.impot_particulier.app import BASE_PATH, create_impot_simulator_app
from app.simulators.impot_particulier.state import (
    SIMULATEUR_CLIENT_ID,
    SIMULATEUR_CLIENT_SECRET,
    SIMULATEUR_ID_TELESERVICE,
    ClientOAuth,
    ImpotSimulatorConfig,
)

__all__ = [
    "BASE_PATH",
    "SIMULATEUR_CLIENT_ID",
    "SIMULATEUR_CLIENT_SECRET",
    "SIMULATEUR_ID_TELESERVICE",
    "ClientOAuth",
    "FaultInjection",
    "ImpotSimulatorConfig",
    "create_impot_simulator_app",
]
