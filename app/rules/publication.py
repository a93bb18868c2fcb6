"""The règlement as JSON-compatible data, as `GET /v1/reglement` shows it to the organisme.

Numbers are strings so that they stay exact; dates are ISO; the data the règlement needs from
upstream is listed with it (data minimisation).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from app.rules import explain, formules
from app.rules.derived import CATALOGUE, Catalogue, libelle_du_fait
from app.rules.model import (
    AuMoins,
    AuMoinsUne,
    Comparaison,
    Condition,
    Deliberation,
    Fraicheur,
    Montant,
    RefFait,
    Reglement,
    Toutes,
    Tranche,
    ValeurParametre,
)
from app.rules.needs import besoins, scopes_requis


def _valeur(valeur: ValeurParametre | bool | date | None) -> Any:
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


def condition_vers_dict(condition: Condition, catalogue: Catalogue = CATALOGUE) -> dict[str, Any]:
    match condition:
        case Comparaison():
            return {
                "fait": _fait(condition.fait, catalogue),
                "operateur": condition.operateur,
                "valeur": _valeur(condition.valeur),
                "parametre": condition.parametre,
                "fraicheur": _fraicheur(condition.fraicheur) if condition.fraicheur else None,
                "code": condition.code,
                "si_inconnu": condition.si_inconnu,
                "valeur_si_inconnu": _valeur(condition.valeur_si_inconnu),
            }
        case Toutes(conditions=enfants):
            return {"toutes": [condition_vers_dict(c, catalogue) for c in enfants], "code": condition.code}
        case AuMoinsUne(conditions=enfants):
            return {
                "au_moins_une": [condition_vers_dict(c, catalogue) for c in enfants],
                "code": condition.code,
            }
        case AuMoins(nombre=n, conditions=enfants):
            parmi = [condition_vers_dict(c, catalogue) for c in enfants]
            return {"au_moins": {"nombre": n, "parmi": parmi}, "code": condition.code}
        case _:
            return {"non": condition_vers_dict(condition.condition, catalogue), "code": condition.code}


def _tranche(t: Tranche) -> dict[str, Any]:
    return {
        "de": _valeur(t.de),
        "plus_de": _valeur(t.plus_de),
        "moins_de": _valeur(t.moins_de),
        "jusqu_a": _valeur(t.jusqu_a),
        "montant": _valeur(t.montant),
        "montants": None if t.montants is None else [_valeur(m) for m in t.montants],
        "libelle": t.libelle,
    }


def _montant(m: Montant, catalogue: Catalogue) -> dict[str, Any]:
    return {
        "bareme": m.bareme,
        "parametre": m.parametre,
        "valeur": _valeur(m.valeur),
        "multiplie_par": _fait(m.multiplie_par, catalogue) if m.multiplie_par else None,
        "arrondi": str(m.arrondi),
        "unite": m.unite,
        "formule": None if m.formule is None else formules.ecrire(m.formule),
        "table": m.table,
        "plafond": _valeur(m.plafond),
        "plancher": _valeur(m.plancher),
        "sens_arrondi": m.sens_arrondi,
        "si_inconnu": _valeur(m.si_inconnu),
    }


def _propres(reglement: Reglement) -> dict[str, Any]:
    """The facts the règlement declares or computes, and its decision tables."""
    catalogue = reglement.catalogue
    declares = [
        {
            "nom": d.nom,
            "libelle": d.libelle,
            "type": "choix" if d.valeurs_admises else d.type.value,
            "valeurs": list(d.valeurs_admises) if d.valeurs_admises else None,
            "unite": d.unite,
            "min": _valeur(d.minimum),
            "max": _valeur(d.maximum),
            "piece": d.piece_justificative,
        }
        for nom, d in catalogue.faits.items()
        if nom in catalogue.propres
    ]
    calcules = [
        {"nom": d.nom, "libelle": d.libelle, "unite": d.unite, "formule": d.formule}
        for nom, d in catalogue.derives.items()
        if nom in catalogue.propres
    ]
    tables = [
        {
            "nom": t.nom,
            "libelle": t.libelle,
            "unite": t.unite,
            "lignes": [
                {
                    "si": "autre"
                    if ligne.autre
                    else [condition_vers_dict(c, catalogue) for c in ligne.tests],
                    "montant": _valeur(ligne.montant),
                    "libelle": ligne.libelle,
                }
                for ligne in t.lignes
            ],
        }
        for t in reglement.tables.values()
    ]
    return {"faits_declares": declares, "faits_calcules": calcules, "tables": tables}


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
                "fait": _fait(b.fait, reglement.catalogue),
                "colonnes": None
                if b.colonnes is None
                else {
                    "fait": _fait(b.colonnes.fait, reglement.catalogue),
                    "classes": [_tranche(t) for t in b.colonnes.classes],
                },
                "si_inconnu": b.si_inconnu,
                "unite": b.unite,
                "versions": [
                    {
                        "depuis": v.depuis.isoformat(),
                        "deliberation": _deliberation(v.deliberation),
                        "tranches": [_tranche(t) for t in v.tranches],
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
                "conditions": [condition_vers_dict(c, reglement.catalogue) for c in d.conditions.conditions],
                "montant": None if d.montant is None else _montant(d.montant, reglement.catalogue),
                "fraicheur": {nom: _fraicheur(f) for nom, f in d.fraicheur.items()},
                "besoins": sorted(besoins(reglement, [d.id]).faits),
            }
            for d in reglement.dispositifs
        ],
        "besoins": {
            "faits": sorted(tout.faits),
            "donnees": sorted(tout.donnees),
            "scopes": sorted(scopes_requis(reglement)),
        },
        "cas_de_test": len(reglement.cas_de_test),
        **_propres(reglement),
    }
