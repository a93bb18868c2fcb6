"""What a règlement needs: the base facts, upstream data sets and scopes its aids read.

The gateway fetches only these (data minimisation). `scopes_requis` is the one source of truth for
habilitations: the provider scopes (the granularity at which API Particulier and DGFiP grant them) of
the facts the aids' conditions, barèmes and amounts read. `GET /v1/reglement` publishes it, the
decision path enforces it, `organisme create|reload` checks it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from app.rules import formules
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


def faits_du_dispositif(
    dispositif: Dispositif, baremes: dict[str, RefFait] | None = None, reglement: Reglement | None = None
) -> list[RefFait]:
    """Every fact an aid reads: in its conditions, its barème (both entries of a grid), its
    multiplier, its formula and its decision table."""
    refs = [c.fait for c in comparaisons(dispositif.conditions)]
    montant = dispositif.montant
    if montant is None:
        return refs
    if montant.bareme is not None and baremes is not None and reglement is None:
        refs.append(baremes[montant.bareme])
    if montant.multiplie_par is not None:
        refs.append(montant.multiplie_par)
    if reglement is None:
        return refs
    noms_baremes = [montant.bareme] if montant.bareme else []
    noms_tables = [montant.table] if montant.table else []
    if montant.formule is not None:
        for nom in formules.noms(montant.formule):
            if nom.nom in reglement.baremes:
                noms_baremes.append(nom.nom)
            elif nom.nom in reglement.tables:
                noms_tables.append(nom.nom)
            elif nom.nom not in reglement.parametres:
                refs.append(RefFait(nom.nom, nom.age_min, nom.age_max))
    return refs + _faits_des_grilles(reglement, noms_baremes, noms_tables)


def _faits_des_grilles(reglement: Reglement, baremes: list[str], tables: list[str]) -> list[RefFait]:
    refs = []
    for nom_bareme in baremes:
        bareme = reglement.baremes[nom_bareme]
        refs.append(bareme.fait)
        if bareme.colonnes is not None:
            refs.append(bareme.colonnes.fait)
    for nom_table in tables:
        refs.extend(t.fait for ligne in reglement.tables[nom_table].lignes for t in ligne.tests)
    return refs


def references_du_dispositif(
    dispositif: Dispositif, parametres: Collection[str] = (), baremes_connus: Collection[str] = ()
) -> tuple[set[str], set[str]]:
    """Names of the parameters and barèmes an aid uses (those its formula names are recognised
    among `parametres` and `baremes_connus`)."""
    parametres_lus = {c.parametre for c in comparaisons(dispositif.conditions) if c.parametre is not None}
    baremes: set[str] = set()
    montant = dispositif.montant
    if montant is not None:
        if montant.parametre is not None:
            parametres_lus.add(montant.parametre)
        if montant.bareme is not None:
            baremes.add(montant.bareme)
        for borne in (montant.plafond, montant.plancher):
            if isinstance(borne, str):
                parametres_lus.add(borne)
        if montant.formule is not None:
            for nom in formules.noms(montant.formule):
                if nom.nom in parametres:
                    parametres_lus.add(nom.nom)
                elif nom.nom in baremes_connus:
                    baremes.add(nom.nom)
    return parametres_lus, baremes


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
        for ref in faits_du_dispositif(dispositif, faits_baremes, reglement):
            faits.update(faits_de_base(ref.nom, reglement.catalogue))
    definitions = [reglement.catalogue.faits[nom] for nom in faits]
    return Besoins(
        faits=frozenset(faits),
        donnees=frozenset(d.donnee for d in definitions if d.donnee is not None),
        scopes=frozenset(d.scope for d in definitions if d.scope is not None),
    )


def scopes_requis(reglement: Reglement, dispositifs: Sequence[str] | None = None) -> frozenset[str]:
    """The provider scopes the chosen aids read (all aids by default): published, enforced, checked."""
    return besoins(reglement, dispositifs).scopes


def scopes_manquants(requis: frozenset[str], habilitation: frozenset[str] | None) -> list[str]:
    """The required scopes a habilitation lacks, sorted; none when the habilitation is not restricted."""
    if habilitation is None:
        return []
    return sorted(requis - habilitation)
