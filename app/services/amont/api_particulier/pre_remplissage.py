"""A JSON-able view of the certified data, for pre-filling the CCAS's dossier (`POST /v1/donnees`).

Keys mirror API Particulier's own snake_case payload; keys absent upstream (scopes not held) stay
absent. Partial birth dates are written with only their known parts (`"2020"`, `"1987-06"`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from app.rules.dates import DatePartielle
from app.services.amont.api_particulier.models import (
    Adresse,
    Personne,
    PrestationAah,
    PrestationAsf,
    PrestationC2s,
    PrestationPrimeActivite,
    PrestationRsa,
    QuotientFamilial,
    Reponse,
)

_CLES_PRESTATIONS: dict[type[BaseModel], str] = {
    PrestationRsa: "revenu_solidarite_active",
    PrestationPrimeActivite: "prime_activite",
    PrestationAah: "allocation_adulte_handicape",
    PrestationAsf: "allocation_soutien_familial",
    PrestationC2s: "complementaire_sante_solidaire",
}


def _date(value: DatePartielle | None) -> str | None:
    return value.isoformat() if value is not None else None


def _nombre(value: Decimal) -> int | str:
    # The QF is an integer upstream; a fractional value is kept exact as text, never a float.
    return int(value) if value == value.to_integral_value() else str(value)


def _personne(p: Personne) -> dict[str, Any]:
    return {
        "nom_naissance": p.nom_naissance,
        "nom_usage": p.nom_usage,
        "prenoms": p.prenoms,
        "date_naissance": _date(p.date_naissance),
        "sexe": p.sexe,
    }


def _adresse(a: Adresse) -> dict[str, Any]:
    return a.model_dump(mode="json")


def _quotient_familial(donnees: QuotientFamilial) -> dict[str, Any]:
    vue: dict[str, Any] = {}
    if (qf := donnees.quotient_familial) is not None:
        vue["quotient_familial"] = {
            "fournisseur": qf.fournisseur,
            "valeur": _nombre(qf.valeur),
            "annee": qf.annee,
            "mois": qf.mois,
            "annee_calcul": qf.annee_calcul,
            "mois_calcul": qf.mois_calcul,
        }
    if donnees.allocataires is not None:
        vue["allocataires"] = [_personne(p) for p in donnees.allocataires]
    if donnees.enfants is not None:
        vue["enfants"] = [_personne(p) for p in donnees.enfants]
    if donnees.adresse is not None:
        vue["adresse"] = _adresse(donnees.adresse)
    return vue


def donnees_pre_remplissage(reponse: Reponse[Any]) -> dict[str, Any]:
    """QF answers give their own keys; a benefit is nested under its data set's name."""
    donnees = reponse.donnees
    if isinstance(donnees, QuotientFamilial):
        return _quotient_familial(donnees)
    cle = _CLES_PRESTATIONS.get(type(donnees))
    if cle is None:
        raise TypeError(f"pas de vue de pré-remplissage pour {type(donnees).__name__}")
    vue = {
        nom: _date(valeur) if isinstance(valeur, DatePartielle) else valeur
        for nom, valeur in donnees
        if nom in donnees.model_fields_set
    }
    return {cle: vue}
