"""Query parameters of API Particulier v3 (contract §2.1): checked locally, then built exactly.

Every rule the provider enforces with a 422 is checked here first, so a request that cannot
succeed never spends quota. The `Demandeur` schema already checks most identity rules when it is
parsed from a request; they are checked again here because a `Demandeur` may be built without
validation (`model_construct`), validated on another day than the call, or drift from the
provider's contract. Messages are French, name the field and never echo the value.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from app.errors import FieldError
from app.rules.dates import DatePartielle, InvalidPartialDate
from app.schemas.demandeur import Demandeur, nom_pour_api_particulier
from app.services.organismes.registre import siret_valide

#: Letters a-z, Latin-1 accented letters (À-Ö, Ø-ö, ø-ÿ), apostrophe, space, hyphen (SIADE).
# re.ASCII: `\d` must not match other scripts' digits ("٠"), which the provider refuses.
_NOM = re.compile(r"^[a-zA-ZÀ-ÖØ-öø-ÿ' \-]+\Z", re.ASCII)
_COMMUNE_COG = re.compile(r"^([013-9]\d|2[AB1-9])\d{3}\Z", re.ASCII)
_PAYS_COG = re.compile(r"^(99\d{3}|92352)\Z", re.ASCII)
_DEPARTEMENT = re.compile(r"^(0[1-9]|[1-8]\d|9[0-5]|2A|2B|97[1-4]|976)\Z", re.ASCII)

PAYS_FRANCE = "99100"
PRENOMS_MAX = 3
NAISSANCE_AU_PLUS_TOT = date(1900, 1, 1)


def erreurs_recipient(recipient: str, champ: str = "recipient") -> list[FieldError]:
    if siret_valide(recipient):
        return []
    return [FieldError(champ, "le SIRET de l'organisme destinataire n'est pas un SIRET valide")]


def erreurs_periode(annee: int | None, mois: int | None, aujourd_hui: date) -> list[FieldError]:
    """`annee` in N-2..N; `mois` in 1..12 and not after the current month (the provider's defaults
    are the current year and month, so a month alone is a month of this year)."""
    errors: list[FieldError] = []
    if annee is not None and not aujourd_hui.year - 2 <= annee <= aujourd_hui.year:
        errors.append(FieldError("annee", "l'année demandée doit être l'année en cours, N-1 ou N-2"))
    if mois is not None:
        if not 1 <= mois <= 12:
            errors.append(FieldError("mois", "le mois doit être compris entre 1 et 12"))
        elif (annee is None or annee >= aujourd_hui.year) and mois > aujourd_hui.month:
            errors.append(FieldError("mois", "le mois demandé ne peut pas être dans le futur"))
    return errors


def _erreurs_nom(value: str | None, champ: str, quoi: str) -> list[FieldError]:
    if value is None or not value.strip():
        return [FieldError(champ, f"{quoi} est obligatoire")]
    if not _NOM.match(nom_pour_api_particulier(value.strip())):
        return [
            FieldError(
                champ,
                f"{quoi} ne peut contenir que des lettres (accentuées comprises), des espaces, "
                "des apostrophes et des tirets",
            )
        ]
    return []


def date_naissance(demandeur: Demandeur) -> DatePartielle | None:
    """The applicant's (possibly partial) birth date, or `None` when not given or unreadable."""
    if not demandeur.date_naissance:
        return None
    try:
        return DatePartielle.parse(demandeur.date_naissance)
    except InvalidPartialDate:
        return None


def erreurs_identite(demandeur: Demandeur, aujourd_hui: date) -> list[FieldError]:
    """Every identity rule of contract §2.1 the provider would refuse with a 422."""
    errors = _erreurs_nom(demandeur.nom_naissance, "demandeur.nom_naissance", "le nom de naissance")
    prenoms = list(demandeur.prenoms or [])
    if not 1 <= len(prenoms) <= PRENOMS_MAX:
        errors.append(FieldError("demandeur.prenoms", "indiquer un à trois prénoms"))
    for index, prenom in enumerate(prenoms):
        errors += _erreurs_nom(prenom, f"demandeur.prenoms.{index}", "le prénom")
    if demandeur.sexe not in ("M", "F"):
        errors.append(FieldError("demandeur.sexe", "le sexe à l'état civil doit être M ou F"))
    errors += _erreurs_date_naissance(demandeur, aujourd_hui)
    errors += _erreurs_lieu_naissance(demandeur)
    return errors


def _erreurs_date_naissance(demandeur: Demandeur, aujourd_hui: date) -> list[FieldError]:
    if not demandeur.date_naissance:
        return []
    champ = "demandeur.date_naissance"
    try:
        naissance = DatePartielle.parse(demandeur.date_naissance)
    except InvalidPartialDate as e:
        return [FieldError(champ, str(e))]
    if naissance.latest() < NAISSANCE_AU_PLUS_TOT:
        return [FieldError(champ, "la date de naissance doit être postérieure au 1er janvier 1900")]
    if naissance.earliest() > aujourd_hui - timedelta(days=1):
        return [FieldError(champ, "la date de naissance doit être antérieure à aujourd'hui")]
    return []


def _erreurs_lieu_naissance(demandeur: Demandeur) -> list[FieldError]:
    pays = demandeur.code_cog_insee_pays_naissance
    if not pays or not _PAYS_COG.match(pays):
        return [
            FieldError(
                "demandeur.code_cog_insee_pays_naissance",
                "le code COG du pays de naissance compte 5 chiffres et commence par 99 (France : 99100)",
            )
        ]
    errors: list[FieldError] = []
    departement = demandeur.code_cog_insee_departement_naissance
    if departement and not _DEPARTEMENT.match(departement):
        errors.append(
            FieldError(
                "demandeur.code_cog_insee_departement_naissance",
                "le code du département de naissance est invalide (01 à 95, 2A, 2B, 971 à 976)",
            )
        )
    if pays != PAYS_FRANCE:
        return errors  # the provider ignores the birth commune of people born abroad
    commune = demandeur.code_cog_insee_commune_naissance
    if commune:
        if not _COMMUNE_COG.match(commune):
            errors.append(
                FieldError(
                    "demandeur.code_cog_insee_commune_naissance",
                    "le code COG de la commune de naissance compte 5 caractères (ex. 08480)",
                )
            )
        return errors
    option_2 = (
        bool(demandeur.nom_commune_naissance and demandeur.nom_commune_naissance.strip())
        and bool(departement)
        and date_naissance(demandeur) is not None
    )
    if not option_2:
        errors.append(
            FieldError(
                "demandeur.code_cog_insee_commune_naissance",
                "pour une personne née en France, indiquer le code COG de la commune de "
                "naissance, ou le nom de la commune avec le département et la date de naissance",
            )
        )
    return errors


def parametres_identite(demandeur: Demandeur) -> list[tuple[str, str]]:
    """The identity query of `/identite` routes, in the contract's names; empty values omitted.

    The birth commune goes only for people born in France; the second birth-place option
    (commune name + département + year) only when no commune code is known.
    """
    nom = nom_pour_api_particulier
    params: list[tuple[str, str]] = [("nomNaissance", nom(demandeur.nom_naissance.strip()))]
    if demandeur.nom_usage and demandeur.nom_usage.strip():
        params.append(("nomUsage", nom(demandeur.nom_usage.strip())))
    params += [("prenoms[]", nom(p.strip())) for p in demandeur.prenoms if p.strip()]
    naissance = date_naissance(demandeur)
    if naissance is not None:
        params.append(("anneeDateNaissance", str(naissance.annee)))
        if naissance.mois is not None:
            params.append(("moisDateNaissance", str(naissance.mois)))
        if naissance.jour is not None:
            params.append(("jourDateNaissance", str(naissance.jour)))
    params.append(("sexeEtatCivil", demandeur.sexe))
    pays = demandeur.code_cog_insee_pays_naissance
    params.append(("codeCogInseePaysNaissance", pays))
    if pays == PAYS_FRANCE:
        if demandeur.code_cog_insee_commune_naissance:
            params.append(("codeCogInseeCommuneNaissance", demandeur.code_cog_insee_commune_naissance))
        elif demandeur.nom_commune_naissance and demandeur.code_cog_insee_departement_naissance:
            params.append(("nomCommuneNaissance", demandeur.nom_commune_naissance.strip()))
            params.append(
                ("codeCogInseeDepartementNaissance", demandeur.code_cog_insee_departement_naissance)
            )
    return params


def parametres_periode(annee: int | None, mois: int | None) -> list[tuple[str, str]]:
    """`annee`/`mois` only when asked for: otherwise the provider gives the current month."""
    params: list[tuple[str, str]] = []
    if annee is not None:
        params.append(("annee", str(annee)))
    if mois is not None:
        params.append(("mois", str(mois)))
    return params
