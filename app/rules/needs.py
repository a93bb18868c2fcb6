"""What a règlement needs: the base facts, upstream data sets and scopes its aids read.

The gateway fetches only these (data minimisation), and `GET /v1/reglement` lists the scopes the
organisme's habilitation must hold.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from app.rules.derived import faits_de_base
from app.rules.model import (
    AuMoins,
    AuMoinsUne,
    Comparaison,
    Condition,
    Dispositif,
    Non,
    RefFait,
    Reglement,
    Toutes,
)


@dataclass(frozen=True, slots=True)
class Besoins:
    faits: frozenset[str]  # base facts of CATALOGUE_FAITS
    donnees: frozenset[str]  # upstream data sets ("quotient_familial", …)
    scopes: frozenset[str]  # upstream scopes


def comparaisons(condition: Condition) -> Iterator[Comparaison]:
    """The leaves of a condition tree, in the order they are written."""
    match condition:
        case Comparaison():
            yield condition
        case Toutes(conditions=enfants) | AuMoinsUne(conditions=enfants) | AuMoins(conditions=enfants):
            for enfant in enfants:
                yield from comparaisons(enfant)
        case Non(condition=enfant):
            yield from comparaisons(enfant)


def faits_du_dispositif(dispositif: Dispositif, baremes: dict[str, RefFait] | None = None) -> list[RefFait]:
    """Every fact an aid reads: in its conditions, its barème and its multiplier."""
    refs = [c.fait for c in comparaisons(dispositif.conditions)]
    montant = dispositif.montant
    if montant is not None:
        if montant.bareme is not None and baremes is not None:
            refs.append(baremes[montant.bareme])
        if montant.multiplie_par is not None:
            refs.append(montant.multiplie_par)
    return refs


def references_du_dispositif(dispositif: Dispositif) -> tuple[set[str], set[str]]:
    """Names of the parameters and barèmes an aid uses."""
    parametres = {c.parametre for c in comparaisons(dispositif.conditions) if c.parametre is not None}
    baremes: set[str] = set()
    if dispositif.montant is not None:
        if dispositif.montant.parametre is not None:
            parametres.add(dispositif.montant.parametre)
        if dispositif.montant.bareme is not None:
            baremes.add(dispositif.montant.bareme)
    return parametres, baremes


#: Needs per règlement and choice of aids, worked out once: a règlement never changes once loaded.
_BESOINS: WeakKeyDictionary[Reglement, dict[frozenset[str] | None, Besoins]] = WeakKeyDictionary()
#: Choices of aids remembered per règlement (callers may send any subset).
_CHOIX_EN_CACHE = 256


def besoins(reglement: Reglement, dispositifs: Sequence[str] | None = None) -> Besoins:
    """Base facts, data sets and scopes needed by the chosen aids (all of them by default)."""
    par_choix = _BESOINS.setdefault(reglement, {})
    choix = None if dispositifs is None else frozenset(dispositifs)
    connus = par_choix.get(choix)
    if connus is None:
        connus = _besoins(reglement, choix)
        if len(par_choix) >= _CHOIX_EN_CACHE:
            par_choix.clear()
        par_choix[choix] = connus
    return connus


def _besoins(reglement: Reglement, choix: frozenset[str] | None) -> Besoins:
    choisis = (
        reglement.dispositifs if choix is None else tuple(d for d in reglement.dispositifs if d.id in choix)
    )
    faits_baremes = {nom: b.fait for nom, b in reglement.baremes.items()}
    faits: set[str] = set()
    for dispositif in choisis:
        for ref in faits_du_dispositif(dispositif, faits_baremes):
            faits.update(faits_de_base(ref.nom, reglement.catalogue))
    definitions = [reglement.catalogue.faits[nom] for nom in faits]
    return Besoins(
        faits=frozenset(faits),
        donnees=frozenset(d.donnee for d in definitions if d.donnee is not None),
        scopes=frozenset(d.scope for d in definitions if d.scope is not None),
    )
