"""The certified tax data of an answer, shaped for pre-filling the CCAS's dossier (`POST /v1/donnees`).

Amounts stay `Decimal`; dates are ISO strings (partial birth dates as `AAAA[-MM[-JJ]]`). No numéro
fiscal: the answer never holds one.
"""

from __future__ import annotations

import re
from typing import Any

from app.services.amont.impot_particulier.faits import libelle_situation_familiale, source_impot
from app.services.amont.impot_particulier.models import ReponseImpot, separer_code_postal

_FIN_ADRESSE = re.compile(r"(\d{5})\s+([^\d]+)$")


def _adresse(reponse: ReponseImpot) -> dict[str, str | None] | None:
    situation = reponse.situation
    detail = situation.adresse_fiscale_detail
    if situation.adresse_fiscale is None and detail is None:
        return None
    code_postal, ville = separer_code_postal(detail.code_postal if detail else None)
    if code_postal is None and situation.adresse_fiscale:
        # Without `aftDetail` (habilitation), the one-line `aft` ends with "94300 VINCENNES".
        match = _FIN_ADRESSE.search(situation.adresse_fiscale)
        if match:
            code_postal, ville = match.group(1), match.group(2).strip()
    return {
        "ligne": situation.adresse_fiscale,
        "complement": detail.complement_adresse if detail else None,
        "voie": detail.voie if detail else None,
        "code_postal": code_postal,
        "ville": ville,
        "bureau_distributeur": detail.commune if detail else None,
    }


def donnees_pre_remplissage(reponse: ReponseImpot) -> dict[str, Any]:
    """Foyer fiscal, déclarants and fiscal address, with their provenance."""
    situation = reponse.situation
    source = source_impot(reponse)
    code = situation.situation_familiale
    return {
        "annee_des_revenus": reponse.annee_des_revenus,
        "source": {
            "fournisseur": source.fournisseur,
            "periode": source.periode,
            "obtenu_le": source.obtenu_le.isoformat() if source.obtenu_le else None,
            "request_id": source.request_id,
        },
        "revenu_fiscal_de_reference": situation.revenu_fiscal_de_reference,
        "nombre_de_parts": situation.nombre_de_parts,
        "situation_familiale": (
            {"code": code, "libelle": libelle_situation_familiale(code)} if code else None
        ),
        "nombre_personnes_a_charge": situation.nombre_personnes_a_charge,
        "impot_sur_le_revenu": situation.impot_sur_le_revenu,
        "revenu_brut_global": situation.revenu_brut_global,
        "revenu_imposable": situation.revenu_imposable,
        "date_mise_en_recouvrement": (
            situation.date_mise_en_recouvrement.isoformat() if situation.date_mise_en_recouvrement else None
        ),
        "date_etablissement": (
            situation.date_etablissement.isoformat() if situation.date_etablissement else None
        ),
        "declarants": [
            {
                "nom_naissance": d.nom_naissance,
                "nom_usage": d.nom_usage,
                "prenoms": d.prenoms,
                "date_naissance": d.date_naissance.isoformat() if d.date_naissance else None,
            }
            for d in situation.declarants
        ],
        "adresse_fiscale": _adresse(reponse),
    }
