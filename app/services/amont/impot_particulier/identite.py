"""Identity guard: is the applicant one of the déclarants of the foyer fiscal that DGFiP returned?

A numéro fiscal typed for someone else would otherwise bring another household's income into the
decision. The applicant matches a déclarant when the birth names agree (accents, case, hyphens and
apostrophes ignored), the first prénom is among the déclarant's prénoms when DGFiP sends them, and
the birth dates agree on every part known on both sides. An unknown birth year never matches.
"""

from __future__ import annotations

import unicodedata

from app.rules.dates import DatePartielle
from app.schemas.demandeur import Demandeur
from app.services.amont.impot_particulier.models import Declarant, ReponseImpot

_LIGATURES = str.maketrans({"Œ": "OE", "œ": "oe", "Æ": "AE", "æ": "ae"})


def normaliser_nom(texte: str | None) -> str | None:
    """Upper case, no accents, hyphens and apostrophes as spaces, single spaces: DGFiP's spelling."""
    if not texte:
        return None
    # Œ and Æ have no decomposition: DGFiP writes them OE and AE.
    decomposed = unicodedata.normalize("NFKD", texte.translate(_LIGATURES))
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    for separator in ("-", "'", "’"):
        letters = letters.replace(separator, " ")
    cleaned = " ".join(letters.upper().split())
    return cleaned or None


def _dates_compatibles(a: DatePartielle | None, b: DatePartielle | None) -> bool:
    if a is None or b is None or a.annee != b.annee:
        return False
    if a.mois is not None and b.mois is not None and a.mois != b.mois:
        return False
    return not (a.jour is not None and b.jour is not None and a.jour != b.jour)


def _correspond(demandeur: Demandeur, declarant: Declarant) -> bool:
    nom_demande = normaliser_nom(demandeur.nom_naissance)
    nom_fiscal = normaliser_nom(declarant.nom_naissance)
    if nom_fiscal is not None:
        if nom_demande != nom_fiscal:
            return False
    # Without the birth name (outside the habilitation), both usage names must be known and agree.
    elif normaliser_nom(demandeur.nom_usage) is None or normaliser_nom(demandeur.nom_usage) != normaliser_nom(
        declarant.nom_usage
    ):
        return False
    prenoms_fiscaux = normaliser_nom(declarant.prenoms)
    premier_prenom = normaliser_nom(demandeur.prenoms[0]) if demandeur.prenoms else None
    if prenoms_fiscaux is not None and (
        premier_prenom is None or f" {premier_prenom} " not in f" {prenoms_fiscaux} "
    ):
        return False
    return _dates_compatibles(demandeur.date_naissance_partielle, declarant.date_naissance)


def identite_fiscale_correspond(demandeur: Demandeur, reponse: ReponseImpot) -> bool:
    """True when the applicant is one of the answer's déclarants (see the module docstring)."""
    return any(_correspond(demandeur, d) for d in reponse.situation.declarants)
