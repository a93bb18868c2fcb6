"""The règlement as JSON-compatible data, as `GET /v1/reglement` shows it to the organisme.

Numbers are strings so that they stay exact; dates are ISO; the data the règlement needs from
upstream is listed with it (data minimisation).
"""

from __future__ import annotations

from typing import Any

from app.rules import explain
from app.rules.derived import CATALOGUE, Catalogue, libelle_du_fait
from app.rules.model import (
    AuMoins,
    AuMoinsUne,
    Comparaison,
    Condition,
    Deliberation,
    Fraicheur,
    RefFait,
    Reglement,
    Toutes,
    ValeurParametre,
)
from app.rules.needs import besoins


def _valeur(valeur: ValeurParametre | bool | None) -> Any:
    if isinstance(valeur, tuple):
        return list(valeur)
    if isinstance(valeur, bool | str) or valeur is None:
        return valeur
    return str(valeur)


def _deliberation(d: Deliberation | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {
        "id": d.id,
        "numero": d.numero,
        "date": d.date.isoformat(),
        "objet": d.objet,
        "reference": explain.deliberation(d),
    }


def _fait(ref: RefFait, catalogue: Catalogue = CATALOGUE) -> dict[str, Any]:
    libelle = libelle_du_fait(ref, catalogue)
    return {"nom": ref.nom, "age_min": ref.age_min, "age_max": ref.age_max, "libelle": libelle}


def _fraicheur(f: Fraicheur) -> dict[str, Any]:
    return {"mois": f.mois} if f.mois is not None else {"annees": f.annees}


def condition_vers_dict(condition: Condition) -> dict[str, Any]:
    match condition:
        case Comparaison():
            return {
                "fait": _fait(condition.fait),
                "operateur": condition.operateur,
                "valeur": _valeur(condition.valeur),
                "parametre": condition.parametre,
                "fraicheur": _fraicheur(condition.fraicheur) if condition.fraicheur else None,
                "code": condition.code,
            }
        case Toutes(conditions=enfants):
            return {"toutes": [condition_vers_dict(c) for c in enfants], "code": condition.code}
        case AuMoinsUne(conditions=enfants):
            return {"au_moins_une": [condition_vers_dict(c) for c in enfants], "code": condition.code}
        case AuMoins(nombre=n, conditions=enfants):
            parmi = [condition_vers_dict(c) for c in enfants]
            return {"au_moins": {"nombre": n, "parmi": parmi}, "code": condition.code}
        case _:
            return {"non": condition_vers_dict(condition.condition), "code": condition.code}


def reglement_vers_dict(reglement: Reglement) -> dict[str, Any]:
    tout = besoins(reglement)
    return {
        "id": reglement.id,
        "version": reglement.version,
        "libelle": reglement.libelle,
        "empreinte": reglement.empreinte,
        "organisme": {"nom": reglement.organisme.nom, "siret": reglement.organisme.siret},
        "fraicheur": {nom: _fraicheur(f) for nom, f in reglement.fraicheur.items()},
        "deliberations": [_deliberation(d) for d in reglement.deliberations.values()],
        "parametres": [
            {
                "nom": p.nom,
                "libelle": p.libelle,
                "type": p.type,
                "unite": p.unite,
                "valeurs": [
                    {
                        "depuis": v.depuis.isoformat(),
                        "valeur": _valeur(v.valeur),
                        "deliberation": _deliberation(v.deliberation),
                    }
                    for v in p.valeurs
                ],
            }
            for p in reglement.parametres.values()
        ],
        "baremes": [
            {
                "nom": b.nom,
                "libelle": b.libelle,
                "fait": _fait(b.fait),
                "unite": b.unite,
                "versions": [
                    {
                        "depuis": v.depuis.isoformat(),
                        "deliberation": _deliberation(v.deliberation),
                        "tranches": [
                            {
                                "de": _valeur(t.de),
                                "moins_de": _valeur(t.moins_de),
                                "montant": _valeur(t.montant),
                                "libelle": t.libelle,
                            }
                            for t in v.tranches
                        ],
                    }
                    for v in b.versions
                ],
            }
            for b in reglement.baremes.values()
        ],
        "dispositifs": [
            {
                "id": d.id,
                "libelle": d.libelle,
                "description": d.description,
                "base_legale": d.base_legale,
                "deliberation": _deliberation(d.deliberation),
                "conditions": [condition_vers_dict(c) for c in d.conditions.conditions],
                "montant": None
                if d.montant is None
                else {
                    "bareme": d.montant.bareme,
                    "parametre": d.montant.parametre,
                    "valeur": _valeur(d.montant.valeur),
                    "multiplie_par": _fait(d.montant.multiplie_par) if d.montant.multiplie_par else None,
                    "arrondi": str(d.montant.arrondi),
                    "unite": d.montant.unite,
                },
                "fraicheur": {nom: _fraicheur(f) for nom, f in d.fraicheur.items()},
                "besoins": sorted(besoins(reglement, [d.id]).faits),
            }
            for d in reglement.dispositifs
        ],
        "besoins": {
            "faits": sorted(tout.faits),
            "donnees": sorted(tout.donnees),
            "scopes": sorted(tout.scopes),
        },
        "cas_de_test": len(reglement.cas_de_test),
    }
