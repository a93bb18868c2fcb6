"""Identity guard: the CAF/MSA data may be used only if the dossier is the requested person's.

The provider matches identities loosely (phonetic and typo tolerance), so a dossier may come back
whose allocataires do not include the applicant. Then the data must not be used; the orchestration
turns a `False` into an `a_verifier` reason.

Normalisation of names before comparison (`normaliser_nom`):
1. Unicode NFKD decomposition, then combining marks dropped: accents go (`É` → `E`, `Ç` → `C`);
2. ligatures spelled out (`Œ` → `OE`, `Æ` → `AE`), then upper-cased (`ß` → `SS`);
3. hyphens, apostrophes (straight or typographic) and runs of spaces become one space, and the
   ends are trimmed: CNAV transliterates `ANO'NYMOS-LONS` as it likes, the letters stay.
Anything else is kept, so two different names never become equal by normalisation.

Birth dates are compared as intervals: a partial or unknown date (`1982`, `2020-00-00`, none) is
compatible with every full date it could be.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from app.rules.dates import DatePartielle, InvalidPartialDate
from app.schemas.demandeur import Demandeur
from app.services.amont.api_particulier.models import Personne

_LIGATURES = str.maketrans({"Œ": "OE", "œ": "oe", "Æ": "AE", "æ": "ae"})
_SEPARATEURS = re.compile(r"[\s\-'’‘`´]+")


def normaliser_nom(nom: str) -> str:
    """Upper-case, accents stripped, separators folded (see the module docstring)."""
    decomposed = unicodedata.normalize("NFKD", nom.translate(_LIGATURES))
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SEPARATEURS.sub(" ", letters.upper()).strip()


def dates_compatibles(a: DatePartielle | None, b: DatePartielle | None) -> bool:
    """Whether two (partial) dates can be the same day; an unknown date is compatible."""
    if a is None or b is None:
        return True
    return a.earliest() <= b.latest() and b.earliest() <= a.latest()


def _naissance(demandeur: Demandeur) -> DatePartielle | None:
    try:
        return DatePartielle.parse(demandeur.date_naissance) if demandeur.date_naissance else None
    except InvalidPartialDate:
        return None


def identite_correspond(demandeur: Demandeur, allocataires: Sequence[Personne]) -> bool:
    """Whether one of the returned allocataires is the requested person (birth name and date)."""
    nom = normaliser_nom(demandeur.nom_naissance)
    naissance = _naissance(demandeur)
    return any(
        allocataire.nom_naissance is not None
        and normaliser_nom(allocataire.nom_naissance) == nom
        and dates_compatibles(naissance, allocataire.date_naissance)
        for allocataire in allocataires
    )
