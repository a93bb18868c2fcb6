"""SIADE's parameter validation for the v3 identité-pivot routes (contract §2.1), errors accumulated.

Validation runs before any matching, as in the real sandbox: a request the real API would refuse
gets the same 422 codes here, all of them in one body. The valid request is rebuilt into the
provider parameter set that fixture matching compares (integers for date parts, commune dropped
for people born abroad, empty values left out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from stdnum.fr import siret

from app.simulators.api_particulier.catalogue import Endpoint
from app.simulators.api_particulier.error_catalogue import DETAIL_SEXE_INVALIDE, erreur_parametre

_NOM = re.compile(r"^[a-zA-ZÀ-ÖØ-öø-ÿ' \-]+\Z")
_COMMUNE = re.compile(r"^([013-9]\d|2[AB1-9])\d{3}\Z", re.ASCII)
# re.ASCII: `\d` must not accept other scripts' digits, which `int()` would then parse.
_PAYS = re.compile(r"^(99\d{3}|92352)\Z", re.ASCII)
_DEPARTEMENT = re.compile(r"^(0[1-9]|[1-8]\d|9[0-5]|2A|2B|97[1-4]|976)\Z")
_ENTIER = re.compile(r"^\d+\Z", re.ASCII)
_LA_POSTE = re.compile(r"^356000000\d{5}\Z", re.ASCII)
PAYS_FRANCE = "99100"
PREMIERE_DATE_NAISSANCE = date(1900, 1, 1)


@dataclass(slots=True)
class Validation:
    """The rebuilt provider parameters and the accumulated errors (empty when the request is valid)."""

    params: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def refuse(self, code: str, parameter: str, detail: str | None = None) -> None:
        self.errors.append(erreur_parametre(code, parameter, detail))


class Requete:
    """Query parameters as Rails would read them: the last value of a repeated scalar wins."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._scalars: dict[str, str] = {}
        self.prenoms: list[str] | None = None
        for name, value in items:
            if name == "prenoms[]":
                self.prenoms = [*(self.prenoms or []), value]
            else:
                self._scalars[name] = value

    def get(self, name: str) -> str | None:
        """The value, stripped; an empty value counts as absent."""
        value = self._scalars.get(name, "").strip()
        return value or None

    def has(self, name: str) -> bool:
        return name in self._scalars


def recipient_valide(value: str | None) -> bool:
    """14 digits with a valid Luhn key, or a La Poste SIRET (which does not follow Luhn)."""
    if value is None or not value.isascii():
        return False
    return bool(_LA_POSTE.match(value)) or siret.is_valid(value)


def valider_recipient(requete: Requete, resultat: Validation) -> None:
    if not recipient_valide(requete.get("recipient")):
        resultat.refuse("00210", "recipient")


def valider_periode(requete: Requete, resultat: Validation, today: date) -> None:
    """`annee` N-2..N and `mois` not in the future (only the quotient familial takes them)."""
    annee_texte, mois_texte = requete.get("annee"), requete.get("mois")
    annee = today.year
    if annee_texte is not None:
        if not re.fullmatch(r"\d{4}", annee_texte, re.ASCII):
            resultat.refuse("00353", "annee")
        elif not today.year - 2 <= int(annee_texte) <= today.year:
            resultat.refuse("00356", "annee")
        else:
            annee = int(annee_texte)
            resultat.params["annee"] = annee
    if mois_texte is not None:
        mois_valide = bool(_ENTIER.match(mois_texte)) and 1 <= int(mois_texte) <= 12
        if not mois_valide or (annee >= today.year and int(mois_texte) > today.month):
            resultat.refuse("00354", "mois")
        else:
            resultat.params["mois"] = int(mois_texte)


def _valider_noms(requete: Requete, resultat: Validation) -> None:
    nom = requete.get("nomNaissance")
    if nom is None or not _NOM.match(nom):
        resultat.refuse("00420", "nomNaissance")
    else:
        resultat.params["nomNaissance"] = nom
    # nomUsage is not validated by SIADE: it is forwarded as given.
    if (nom_usage := requete.get("nomUsage")) is not None:
        resultat.params["nomUsage"] = nom_usage
    if requete.prenoms is not None:
        prenoms = [p.strip() for p in requete.prenoms]
        if all(_NOM.match(p) for p in prenoms):
            resultat.params["prenoms"] = prenoms
        else:
            resultat.refuse("00367", "prenoms[]")
    elif requete.has("prenoms"):
        # `prenoms=X` (no brackets) is a string, not the array SIADE expects.
        resultat.refuse("00367", "prenoms[]")


def _valider_date_naissance(requete: Requete, resultat: Validation, today: date) -> None:
    textes = {k: requete.get(k) for k in ("anneeDateNaissance", "moisDateNaissance", "jourDateNaissance")}
    if textes["anneeDateNaissance"] is None:
        return  # month and day are ignored without a year (OpenAPI)
    if any(t is not None and not _ENTIER.match(t) for t in textes.values()):
        resultat.refuse("00363", "anneeDateNaissance")
        return
    annee = int(textes["anneeDateNaissance"])
    mois = int(textes["moisDateNaissance"]) if textes["moisDateNaissance"] else None
    jour = int(textes["jourDateNaissance"]) if textes["jourDateNaissance"] else None
    valide = annee > 0 and (mois is None or 1 <= mois <= 12) and (jour is None or 1 <= jour <= 31)
    if jour is not None and mois is None:
        valide = False
    if valide and mois is not None and jour is not None:
        try:
            naissance = date(annee, mois, jour)
        except ValueError:
            valide = False
        else:
            valide = PREMIERE_DATE_NAISSANCE <= naissance <= today - timedelta(days=1)
    if not valide:
        resultat.refuse("00363", "anneeDateNaissance")
        return
    resultat.params["anneeDateNaissance"] = annee
    if mois is not None:
        resultat.params["moisDateNaissance"] = mois
    if jour is not None:
        resultat.params["jourDateNaissance"] = jour


def _valider_sexe(requete: Requete, resultat: Validation) -> None:
    sexe = requete.get("sexeEtatCivil")
    if sexe is None:
        resultat.refuse("00427", "sexeEtatCivil")
    elif sexe.upper() not in ("M", "F"):
        resultat.refuse("00427", "sexeEtatCivil", DETAIL_SEXE_INVALIDE)
    else:
        resultat.params["sexeEtatCivil"] = sexe.upper()


def _valider_lieu_naissance(requete: Requete, resultat: Validation) -> None:
    pays = requete.get("codeCogInseePaysNaissance")
    if pays is None or not _PAYS.match(pays):
        resultat.refuse("00400", "codeCogInseePaysNaissance")
    else:
        resultat.params["codeCogInseePaysNaissance"] = pays
    commune = requete.get("codeCogInseeCommuneNaissance")
    if commune is not None or (pays is not None and pays != PAYS_FRANCE):
        if commune is not None and not _COMMUNE.match(commune.upper()):
            resultat.refuse("00365", "codeCogInseeCommuneNaissance")
        elif commune is not None and pays == PAYS_FRANCE:
            # SIADE drops the commune of people born abroad.
            resultat.params["codeCogInseeCommuneNaissance"] = commune.upper()
        return
    nom_commune = requete.get("nomCommuneNaissance")
    departement = requete.get("codeCogInseeDepartementNaissance")
    if nom_commune and departement and requete.get("anneeDateNaissance"):
        # Option 2. The real API transcodes (name, département, year) into a commune code through
        # INSEE's COG; the simulator has no COG table, so it matches on these parameters as given.
        if not _DEPARTEMENT.match(departement.upper()):
            resultat.refuse("00428", "codeCogInseeDepartementNaissance")
        else:
            resultat.params["nomCommuneNaissance"] = nom_commune
            resultat.params["codeCogInseeDepartementNaissance"] = departement.upper()
        return
    resultat.refuse("00365", "codeCogInseeCommuneNaissance")


def valider_identite(requete: Requete, endpoint: Endpoint, today: date) -> Validation:
    """Validate an `/identite` call: recipient, period (QF), then every identity parameter."""
    resultat = Validation()
    valider_recipient(requete, resultat)
    if endpoint.quotient_familial:
        valider_periode(requete, resultat, today)
    _valider_noms(requete, resultat)
    _valider_date_naissance(requete, resultat, today)
    _valider_sexe(requete, resultat)
    _valider_lieu_naissance(requete, resultat)
    return resultat


def valider_france_connect(requete: Requete, endpoint: Endpoint, today: date) -> Validation:
    """Validate a `/france_connect` call: only recipient and the period come from the query."""
    resultat = Validation()
    valider_recipient(requete, resultat)
    if endpoint.quotient_familial:
        valider_periode(requete, resultat, today)
    return resultat
