"""Base facts (`CATALOGUE_FAITS`) drawn from API Particulier answers, each with its source.

Only what the answer holds becomes a fact: a key absent for a missing scope gives no fact, and the
engine then reports the fact as unavailable. Household members carry no name, only what rules use.

Sources: the QF names its body (`CNAF` or `MSA`). The benefit routes (RSA, prime d'activité, AAH,
ASF, C2S) answer through the Sécurité sociale's shared "DSS" platform, run by the CNAV, without
saying which body pays (CAF, MSA or, for the C2S, the Assurance maladie): their source is
"Sécurité sociale", the name API Particulier itself gives that provider, rather than a guess.
"""

from __future__ import annotations

from datetime import datetime

from app.rules.facts import Fait, MembreFoyer, Source
from app.services.amont.api_particulier.client import FUSEAU_FOURNISSEUR
from app.services.amont.api_particulier.models import (
    Personne,
    PrestationAah,
    PrestationAsf,
    PrestationC2s,
    PrestationPrimeActivite,
    PrestationRsa,
    Provenance,
    QuotientFamilial,
    Reponse,
)

FOURNISSEUR_PRESTATIONS = "Sécurité sociale"
#: When the QF key is absent (scope not held), the answer does not say whether CNAF or MSA holds
#: the dossier.
FOURNISSEUR_CNAF_OU_MSA = "CNAF/MSA"


def _mois_courant(obtenu_le: datetime) -> str:
    # Composition, address and benefits are those of the month of the call, in French civil time.
    return obtenu_le.astimezone(FUSEAU_FOURNISSEUR).strftime("%Y-%m")


def _source(fournisseur: str, periode: str, provenance: Provenance, depuis_cache: bool) -> Source:
    return Source(
        fournisseur=fournisseur,
        certifie=True,
        periode=periode,
        obtenu_le=provenance.obtenu_le,
        depuis_cache=depuis_cache,
        request_id=provenance.request_id,
    )


def _membres(personnes: tuple[Personne, ...]) -> tuple[MembreFoyer, ...]:
    return tuple(MembreFoyer(date_naissance=p.date_naissance, sexe=p.sexe) for p in personnes)


def code_postal(code_postal_ville: str | None) -> str | None:
    """`"75002 PARIS"` → `"75002"`; `None` when the line does not start with five digits."""
    if code_postal_ville is None:
        return None
    candidate = code_postal_ville.strip()[:5]
    return candidate if len(candidate) == 5 and candidate.isdigit() else None


def faits_quotient_familial(
    reponse: Reponse[QuotientFamilial], *, depuis_cache: bool = False
) -> dict[str, Fait]:
    """`quotient_familial_caf`, `allocataires`, `enfants`, `code_postal_caf`, as present.

    `depuis_cache` is the gateway's own cache flag (the provider's is in the provenance).
    The QF's period is the month it applies to; the household and the address are always those
    of the current month, even when a past month's QF was asked for.
    """
    donnees, provenance = reponse.donnees, reponse.provenance
    qf = donnees.quotient_familial
    fournisseur = qf.fournisseur if qf is not None else FOURNISSEUR_CNAF_OU_MSA
    courant = _source(fournisseur, _mois_courant(provenance.obtenu_le), provenance, depuis_cache)
    faits: dict[str, Fait] = {}
    if qf is not None:
        periode = f"{qf.annee:04d}-{qf.mois:02d}"
        faits["quotient_familial_caf"] = Fait(
            qf.valeur, _source(fournisseur, periode, provenance, depuis_cache)
        )
    if donnees.allocataires is not None:
        faits["allocataires"] = Fait(_membres(donnees.allocataires), courant)
    if donnees.enfants is not None:
        faits["enfants"] = Fait(_membres(donnees.enfants), courant)
    if donnees.adresse is not None:
        cp = code_postal(donnees.adresse.code_postal_ville)
        if cp is not None:
            faits["code_postal_caf"] = Fait(cp, courant)
    return faits


def _prestation(
    reponse: Reponse[PrestationRsa]
    | Reponse[PrestationPrimeActivite]
    | Reponse[PrestationAah]
    | Reponse[PrestationAsf]
    | Reponse[PrestationC2s],
    nom: str,
    depuis_cache: bool,
) -> tuple[dict[str, Fait], Source]:
    source = _source(
        FOURNISSEUR_PRESTATIONS,
        _mois_courant(reponse.provenance.obtenu_le),
        reponse.provenance,
        depuis_cache,
    )
    beneficiaire = reponse.donnees.est_beneficiaire
    return ({nom: Fait(beneficiaire, source)} if beneficiaire is not None else {}), source


def _avec_majoration(donnees: PrestationRsa | PrestationPrimeActivite) -> bool | None:
    # `null` means "not applicable": a non-beneficiary has no majoration. For a beneficiary a
    # `null` says nothing, and an absent key means the scope is not held: no fact then.
    if "avec_majoration" not in donnees.model_fields_set:
        return None
    if donnees.avec_majoration is None and donnees.est_beneficiaire is False:
        return False
    return donnees.avec_majoration


def faits_revenu_solidarite_active(
    reponse: Reponse[PrestationRsa], *, depuis_cache: bool = False
) -> dict[str, Fait]:
    """`beneficiaire_rsa` and `rsa_avec_majoration`, as present."""
    faits, source = _prestation(reponse, "beneficiaire_rsa", depuis_cache)
    majoration = _avec_majoration(reponse.donnees)
    if majoration is not None:
        faits["rsa_avec_majoration"] = Fait(majoration, source)
    return faits


def faits_prime_activite(
    reponse: Reponse[PrestationPrimeActivite], *, depuis_cache: bool = False
) -> dict[str, Fait]:
    return _prestation(reponse, "beneficiaire_prime_activite", depuis_cache)[0]


def faits_allocation_adulte_handicape(
    reponse: Reponse[PrestationAah], *, depuis_cache: bool = False
) -> dict[str, Fait]:
    return _prestation(reponse, "beneficiaire_aah", depuis_cache)[0]


def faits_allocation_soutien_familial(
    reponse: Reponse[PrestationAsf], *, depuis_cache: bool = False
) -> dict[str, Fait]:
    return _prestation(reponse, "beneficiaire_asf", depuis_cache)[0]


def faits_complementaire_sante_solidaire(
    reponse: Reponse[PrestationC2s], *, depuis_cache: bool = False
) -> dict[str, Fait]:
    return _prestation(reponse, "beneficiaire_c2s", depuis_cache)[0]
