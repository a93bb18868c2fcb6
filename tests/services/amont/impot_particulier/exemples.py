"""DGFiP bodies converted from the contract's examples (copied here: tests never read /work/shared)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from app.services.amont.impot_particulier import ReponseImpot, SituationIR

#: ir_dernieresituation_annrev_2021_spi_3999999898230_200.json
CIS_QUATORZE: dict[str, Any] = {
    "annRevenu": 2021,
    "rfr": 48583,
    "sitFam": "M",
    "nbPart": 2.0,
    "pac": {"nbPac": 0},
    "nmNaiDec1": "CIS QUATORZE",
    "nmUsaDec1": None,
    "prnmDec1": "PRENOM VINCENT",
    "dateNaisDec1": {"jour": "02", "mois": "08", "annee": "1973"},
    "nmNaiDec2": "CIS TRENTEHUIT",
    "nmUsaDec2": "CIS QUATORZE",
    "prnmDec2": "PNM LEA",
    "dateNaisDec2": {"jour": "10", "mois": "02", "annee": "1973"},
    "aft": "18 RUE DU COMMANDANT MOWAT 94300 VINCENNES",
    "aftDetail": {
        "complementAdresse": None,
        "voie": "18 RUE DU COMMANDANT MOWAT",
        "commune": None,
        "codePostal": "94300 VINCENNES",
    },
    "revenuBrutGlobal": 47560,
    "revImposable": 47560,
    "impAvImput": None,
    "montTotIr": 2982,
    "datRec": "2022-07-31",
    "datEtab": "2022-07-07",
}

#: sfip_02CA_annrev_200_dubignot.json (sibling API: null conventions, numeric indDeficit)
DUBIGNOT: dict[str, Any] = {
    "rfr": 23055,
    "sitFam": "V",
    "nbPart": 1,
    "pac": {"nbPac": 0, "nbPacF": 0, "nbPacH": 0, "nbPacR": 0, "nbPacJ": 0, "nbPacN": 0, "nbPacP": 0},
    "nmNaiDec1": "DUBIGNOT",
    "nmUsaDec1": None,
    "prnmDec1": "Jean Philippe Arnaud",
    "nmNaiDec2": None,
    "nmUsaDec2": None,
    "prnmDec2": None,
    "sitParIso": None,
    "indDeficit": 0,
    "rev": {"rici": None},
}

OBTENU_LE = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def situation(body: dict[str, Any]) -> SituationIR:
    """Parse as the client does: numbers from the JSON text as Decimal."""
    return SituationIR.model_validate(json.loads(json.dumps(body), parse_float=Decimal))


def reponse(body: dict[str, Any], annee: int = 2021) -> ReponseImpot:
    return ReponseImpot(
        annee_des_revenus=annee,
        situation=situation(body),
        ressource="derniere_situation",
        request_id="0b7f3c2e-4d1a-4f6b-9c55-1e2d3f4a5b6c",
        obtenu_le=OBTENU_LE,
    )
