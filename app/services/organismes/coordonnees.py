"""An organisme's coordinates as its documents print them (issue 16): where to write, who signs,
whom to ask about personal data, how long the data are kept, how to contest.

Set by `eg organisme coordonnees` and stored as one JSON object on the organisme's row; every field
is bounded and plain text (the templates escape it), with line breaks allowed in the address.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

#: Longest accepted value of each field, in characters (a postal address: 6 lines of 38 characters
#: by the postal standard, kept generous; free texts: a paragraph).
LONGUEURS: dict[str, int] = {
    "adresse": 400,
    "service": 200,
    "telephone": 40,
    "courriel": 200,
    "site_web": 200,
    "dpo": 300,
    "signataire": 200,
    "duree_conservation": 400,
    "recours": 1200,
}
#: Lines an address may have (the postal standard's six, plus one for a CEDEX or a service).
LIGNES_ADRESSE_MAX = 7

#: What a letter says about appeals when the organisme has not written its own text.
RECOURS_PAR_DEFAUT = (
    "Vous pouvez demander au président du conseil d'administration du CCAS de réexaminer cette "
    "décision (recours gracieux) dans un délai de deux mois après sa notification. Vous pouvez aussi "
    "saisir le tribunal administratif dans le même délai, y compris par l'application Télérecours "
    "citoyens (www.telerecours.fr)."
)
#: The retention period a notice states when the organisme has not set its own.
CONSERVATION_PAR_DEFAUT = (
    "les données sont conservées le temps de l'instruction de la demande puis selon la durée de "
    "conservation du journal de l'organisme"
)


class CoordonneesInvalides(ValueError):
    """A coordinate too long, empty or with characters a document cannot print (French message)."""


@dataclass(frozen=True, slots=True)
class Coordonnees:
    """Every field is optional: a document prints what is set and says plainly what is not."""

    adresse: str | None = None
    service: str | None = None
    telephone: str | None = None
    courriel: str | None = None
    site_web: str | None = None
    dpo: str | None = None
    signataire: str | None = None
    duree_conservation: str | None = None
    recours: str | None = None

    @property
    def lignes_adresse(self) -> list[str]:
        return [] if self.adresse is None else self.adresse.split("\n")

    def vers_dict(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def depuis_dict(cls, valeurs: Mapping[str, object] | None) -> Coordonnees | None:
        """From the stored JSON; unknown keys (a later version's) are ignored, not fatal."""
        if not valeurs:
            return None
        connus = {f.name for f in fields(cls)}
        return cls(**{k: str(v) for k, v in valeurs.items() if k in connus and v is not None})

    def avec(self, changements: Mapping[str, str | None]) -> Coordonnees:
        """These coordinates with `changements` applied (`""` clears a field), validated."""
        valeurs: dict[str, str | None] = {f.name: getattr(self, f.name) for f in fields(self)}
        for nom, valeur in changements.items():
            if nom not in valeurs:
                raise CoordonneesInvalides(f"champ inconnu : {nom}")
            if valeur is None:
                continue
            valeurs[nom] = _valider(nom, valeur)
        return Coordonnees(**valeurs)


def _valider(nom: str, valeur: str) -> str | None:
    # `\n` typed on a command line arrives as two characters: both spellings make a new line.
    texte = valeur.replace("\\n", "\n").replace("\r\n", "\n").strip()
    if not texte:
        return None
    if len(texte) > LONGUEURS[nom]:
        raise CoordonneesInvalides(f"{nom} : {LONGUEURS[nom]} caractères au plus")
    if any(ord(c) < 32 and c != "\n" for c in texte) or "\x7f" in texte:
        raise CoordonneesInvalides(f"{nom} : caractères de contrôle refusés")
    lignes = [ligne.strip() for ligne in texte.split("\n") if ligne.strip()]
    if nom not in {"adresse", "recours"} and len(lignes) > 1:
        raise CoordonneesInvalides(f"{nom} : une seule ligne")
    if nom == "adresse" and len(lignes) > LIGNES_ADRESSE_MAX:
        raise CoordonneesInvalides(f"adresse : {LIGNES_ADRESSE_MAX} lignes au plus")
    return "\n".join(lignes) if nom != "recours" else texte


#: The sandbox's demo organisme: sensible, obviously fictitious values.
COORDONNEES_DEMO = Coordonnees(
    adresse="CCAS de Démoville (fictif)\nService d'action sociale\n1 place de la Mairie\n08480 DÉMOVILLE",
    service="Service des aides facultatives",
    telephone="03 00 00 00 00",
    courriel="ccas@demoville.invalid",
    site_web="https://demoville.invalid/ccas",
    dpo="Délégué à la protection des données, 1 place de la Mairie, 08480 DÉMOVILLE — dpo@demoville.invalid",
    signataire="Pour le président et par délégation, la directrice du CCAS",
    duree_conservation="trois ans à compter de la dernière décision vous concernant, puis les données "
    "sont supprimées",
    recours=None,
)
