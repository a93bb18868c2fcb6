"""Facts and evaluations as JSON-compatible data, for the journal and for replaying a decision.

Decimals are strings (exact round-trip), partial dates and datetimes ISO text. Reading facts back
and evaluating them with the same règlement and date gives the same evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from app.rules.dates import DatePartielle
from app.rules.derived import CATALOGUE, Catalogue
from app.rules.facts import FactValue, Fait, FaitIndisponible, Faits, MembreFoyer, Source
from app.rules.results import Evaluation
from app.rules.simulation import convertir_valeur


def _source_vers_dict(source: Source | None) -> dict[str, Any] | None:
    if source is None:
        return None
    return {
        "fournisseur": source.fournisseur,
        "certifie": source.certifie,
        "periode": source.periode,
        "obtenu_le": source.obtenu_le.isoformat() if source.obtenu_le else None,
        "depuis_cache": source.depuis_cache,
        "request_id": source.request_id,
        "perime": source.perime,
    }


def _source_depuis_dict(d: Mapping[str, Any] | None) -> Source | None:
    if d is None:
        return None
    obtenu_le = d.get("obtenu_le")
    return Source(
        fournisseur=str(d["fournisseur"]),
        certifie=bool(d["certifie"]),
        periode=d.get("periode"),
        obtenu_le=datetime.fromisoformat(obtenu_le) if obtenu_le else None,
        depuis_cache=bool(d.get("depuis_cache", False)),
        request_id=d.get("request_id"),
        perime=bool(d.get("perime", False)),
    )


def _valeur_vers_json(valeur: FactValue) -> Any:
    if isinstance(valeur, Decimal):
        return str(valeur)
    if isinstance(valeur, DatePartielle):
        return valeur.isoformat()
    if isinstance(valeur, tuple):
        return [
            {"date_naissance": m.date_naissance.isoformat() if m.date_naissance else None, "sexe": m.sexe}
            for m in valeur
            if isinstance(m, MembreFoyer)
        ]
    return valeur


def faits_vers_dict(faits: Faits) -> dict[str, Any]:
    return {
        "connus": {
            nom: {"valeur": _valeur_vers_json(f.valeur), "source": _source_vers_dict(f.source)}
            for nom, f in sorted(faits.connus.items())
        },
        "indisponibles": {
            nom: {"code": i.code, "raison": i.raison, "source": _source_vers_dict(i.source)}
            for nom, i in sorted(faits.indisponibles.items())
        },
    }


def faits_depuis_dict(d: Mapping[str, Any], catalogue: Catalogue = CATALOGUE) -> Faits:
    """Inverse of `faits_vers_dict` (`catalogue`: the règlement's, for the facts it declares);
    `ValueError` on an unknown fact or a malformed value."""
    connus: dict[str, Fait] = {}
    for nom, fait in d.get("connus", {}).items():
        definition = catalogue.faits.get(nom)
        if definition is None:
            raise ValueError(f"fait inconnu du catalogue : {nom}")
        source = _source_depuis_dict(fait["source"])
        if source is None:
            raise ValueError(f"fait sans source : {nom}")
        connus[nom] = Fait(convertir_valeur(definition, fait["valeur"]), source)
    indisponibles = {
        nom: FaitIndisponible(
            code=str(i["code"]), raison=str(i["raison"]), source=_source_depuis_dict(i.get("source"))
        )
        for nom, i in d.get("indisponibles", {}).items()
    }
    return Faits(connus=connus, indisponibles=indisponibles)


def _json(valeur: Any) -> Any:
    if isinstance(valeur, Decimal):
        return str(valeur)
    if isinstance(valeur, date | datetime):
        return valeur.isoformat()
    if isinstance(valeur, dict):
        return {k: _json(v) for k, v in valeur.items()}
    if isinstance(valeur, list | tuple):
        return [_json(v) for v in valeur]
    return valeur


def evaluation_vers_dict(evaluation: Evaluation) -> dict[str, Any]:
    """The whole evaluation (every condition, parameter and barème applied) as JSON-compatible data."""
    return dict(_json(asdict(evaluation)))
