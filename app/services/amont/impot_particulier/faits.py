"""From an API Impôt particulier answer to the engine's base facts, each with its DGFiP provenance.

Only the facts present in the answer are returned (DGFiP leaves out what the habilitation does not
cover): a missing one is for the caller to mark unavailable. Derived facts (fiscal QF, consumption
units) are the engine's job, not this module's.
"""

from __future__ import annotations

from typing import Final

from app.rules.facts import Fait, Source
from app.services.amont.impot_particulier.models import ReponseImpot

FOURNISSEUR_DGFIP: Final[str] = "DGFIP"

#: French labels of `sitFam` (as API Particulier v2 showed them).
LIBELLES_SITUATION_FAMILIALE: Final[dict[str, str]] = {
    "M": "Marié(e)s",
    "O": "Pacsé(e)s",
    "C": "Célibataire",
    "D": "Divorcé(e)",
    "V": "Veuf(ve)",
}


def source_impot(reponse: ReponseImpot) -> Source:
    """The provenance shared by every fact of one answer: period = année des revenus."""
    return Source(
        fournisseur=FOURNISSEUR_DGFIP,
        certifie=True,
        periode=str(reponse.annee_des_revenus),
        obtenu_le=reponse.obtenu_le,
        request_id=reponse.request_id,
    )


def libelle_situation_familiale(code: str) -> str:
    """ "Marié(e)s" for "M"…; an unknown code is shown as is."""
    return LIBELLES_SITUATION_FAMILIALE.get(code, code)


def faits_impot(reponse: ReponseImpot) -> dict[str, Fait]:
    """The base facts of CATALOGUE_FAITS that this answer carries, exact (`Decimal`, `int`)."""
    situation = reponse.situation
    source = source_impot(reponse)
    faits: dict[str, Fait] = {}
    if situation.revenu_fiscal_de_reference is not None:
        faits["revenu_fiscal_de_reference"] = Fait(situation.revenu_fiscal_de_reference, source)
    if situation.nombre_de_parts is not None:
        faits["nombre_de_parts"] = Fait(situation.nombre_de_parts, source)
    if situation.situation_familiale in LIBELLES_SITUATION_FAMILIALE:
        faits["situation_familiale"] = Fait(situation.situation_familiale, source)
    if situation.nombre_personnes_a_charge is not None:
        faits["nombre_personnes_a_charge"] = Fait(situation.nombre_personnes_a_charge, source)
    if situation.impot_sur_le_revenu is not None:
        faits["impot_sur_le_revenu"] = Fait(situation.impot_sur_le_revenu, source)
    return faits
