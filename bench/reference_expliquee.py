"""(e) of bench/bench_reglement.py: the bench's règlement (`ccas-intercommunal.yaml` on JOUR) written
by hand in plain Python, giving exactly the engine's `Evaluation`, every sentence included.

The floor of the task itself: what a competent engineer's straight-line function costs when it
produces the same explanations as `plan.evaluer(faits)`, to set beside (c) (verdicts and amounts
only) and (a) (the engine). Each fact is read once, the derived values (ages, children per age
band, household size, reste à vivre, revenu par UC) and the amounts are worked out exactly with
integers and `Decimal`, each sentence is written with f-strings, and the result objects are built
as the plan builds them (`object.__new__`, then every slot assigned). No function of the engine
runs per household.

Precomputed, as a hand-written function would have them:
- in this module's constants: the thresholds and parameters in force on JOUR, the texts of the
  délibérations, the fixed parts of the sentences (labels of facts, of barèmes and tables);
- by `preparer`, once per règlement: the evaluation's header (the règlement's reference with its
  fingerprint, the parameters and barèmes applied, the facts read), taken from the engine's own
  set-up (`app.rules.plan.plan`, `app.rules.compiled.preparer`);
- memoized by value, as the engine memoizes them (bounded): the text of an amount in euros by its
  value, like `explain.nombre`; the text of a source by what it says (provider, certified,
  period), like `explain.source`; the sentence of a leaf on a yes/no or a text (« vaut
  oui », « figure parmi ») by its value and what its source says, like
  `lecteurs.explication_directe` (at most a few per leaf: two for a yes/no, one per commune…).
  Nothing else is kept from one household to the next: no memo of amounts, motifs or sentences
  by a household's numbers.

Covered: the bench's households (complete, fresh data with full birth dates). Anything else (a
missing or stale fact, a partial date, a stale source, sources of a computed fact that differ)
raises `NotImplementedError`: the engine handles those, this floor need not.

Each aid's sentences and refusal are written out in place, aid after aid, though they look alike:
a floor is the cheapest plain code, and folding the eight refusals into one function taking the
failed criteria (list comprehensions, a call each) cost 505 000 instructions per household against
452 100 (measured 4/12/2026), more than the engine's whole gap to this floor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from math import gcd
from typing import Any

from app.rules.compiled import preparer as preparer_plan
from app.rules.facts import Faits, Source
from app.rules.model import Reglement
from app.rules.plan import plan
from app.rules.results import (
    BaremeApplique,
    ConditionEvaluee,
    Evaluation,
    ParametreApplique,
    ReferenceReglement,
    ResultatDispositif,
    Statut,
    ValeurAffichee,
)

JOUR = date(2026, 5, 15)
_ANNEE, _MOIS_JOUR = JOUR.year, (JOUR.month, JOUR.day)
#: The QF's periods fresh on JOUR (at most three months old, `fraicheur`), the RFR's tax year.
_PERIODES_QF = frozenset({"2026-02", "2026-03", "2026-04", "2026-05"})
_ANNEE_RFR = "2025"

_NOUVEAU = object.__new__
_ELIGIBLE, _NON_ELIGIBLE = Statut.ELIGIBLE, Statut.NON_ELIGIBLE
_CENT = Decimal("0.01")

# -- the règlement in force on JOUR ------------------------------------------------------------------

_CA_2025_40 = "délibération n° 2025-40 du 11 décembre 2025"
_CA_2026_05 = "délibération n° 2026-05 du 19 mars 2026"
_COMMUNES = ("08105", "08480", "08409", "08263")
_LOGEMENTS_ENERGIE = ("locataire", "proprietaire")
_SITUATIONS_EMPLOI = ("demandeur_emploi", "formation")
_PLAFOND_QF_ALIMENTAIRE, _PLAFOND_QF_RENTREE = Decimal(650), Decimal(900)
_PLAFOND_RFR_EMPLOI = Decimal(15000)
_ENERGIE = (  # rows E1 to E3 (E4 is never reached: revenu par UC ≤ 11 000 €), by column
    ("E1", 5700, (Decimal("150.00"), Decimal("190.00"), Decimal("230.00"))),
    ("E2", 7800, (Decimal("100.00"), Decimal("130.00"), Decimal("160.00"))),
    ("E3", 11000, (Decimal("60.00"), Decimal("80.00"), Decimal("100.00"))),
)
_COLONNES_ENERGIE = ("1 personne", "2 à 3 personnes", "4 personnes ou plus")
#: Amounts without a rounding rule are carried at the cent, as the engine gives them.
_MONTANT_40, _MONTANT_60 = Decimal("40.00"), Decimal("60.00")

#: A leaf as its results carry it: critère, opérateur, seuil, délibération, paramètre, code.
Feuille = tuple[str, str, ValeurAffichee, str | None, str | None, str]
_F_COMMUNE: Feuille = ("commune_residence", "in", _COMMUNES, _CA_2025_40, "communes", "commune")
_F_QF_ALIMENTAIRE: Feuille = (
    "quotient_familial_caf", "<=", _PLAFOND_QF_ALIMENTAIRE, _CA_2025_40, "plafond_qf_alimentaire",
    "plafond-qf",
)  # fmt: skip
_F_RAV_SECOURS: Feuille = (
    "reste_a_vivre", "<=", Decimal(12), _CA_2026_05, "plafond_reste_a_vivre", "reste-a-vivre",
)  # fmt: skip
_F_RSA: Feuille = ("beneficiaire_rsa", "==", True, None, None, "rsa")
_F_ASF: Feuille = ("beneficiaire_asf", "==", True, None, None, "asf")
_F_AAH: Feuille = ("beneficiaire_aah", "==", True, None, None, "aah")
_F_C2S: Feuille = ("beneficiaire_c2s", "==", True, None, None, "c2s")
_F_LOGEMENT: Feuille = ("statut_occupation_logement", "in", _LOGEMENTS_ENERGIE, None, None, "logement")
_F_REVENU_UC: Feuille = ("revenu_par_unite_de_consommation", "<=", Decimal(11000), None, None, "revenu-uc")
_F_ENFANT_3_17: Feuille = ("nombre_enfants", ">=", Decimal(1), None, None, "enfant-scolarise")
_F_ENFANT_6_18: Feuille = ("nombre_enfants", ">=", Decimal(1), None, None, "enfant-6-18")
_F_QF_RENTREE: Feuille = (
    "quotient_familial_caf", "<=", _PLAFOND_QF_RENTREE, _CA_2025_40, "plafond_qf_rentree", "plafond-qf",
)  # fmt: skip
_F_AGE_70: Feuille = ("age_demandeur", ">=", Decimal(70), None, None, "age")
_F_QF_MODESTE: Feuille = ("quotient_familial_caf", "<=", Decimal(900), None, None, "qf-modeste")
_F_LOCATAIRE: Feuille = ("statut_occupation_logement", "==", "locataire", None, None, "locataire")
_F_SANS_RSA: Feuille = ("beneficiaire_rsa", "!=", True, None, None, "sans-rsa")
_F_RAV_LOYER: Feuille = (
    "reste_a_vivre", "<=", Decimal(15), _CA_2025_40, "plafond_reste_a_vivre_loyer", "reste-a-vivre",
)  # fmt: skip
_F_AGE_65: Feuille = ("age_demandeur", ">=", Decimal(65), None, None, "age")
_F_HANDICAP: Feuille = ("handicap_reconnu", "==", True, None, None, "handicap")
_F_ENFANT_4_17: Feuille = ("nombre_enfants", ">=", Decimal(1), None, None, "enfant-4-17")
_F_SITUATION: Feuille = ("situation_emploi", "in", _SITUATIONS_EMPLOI, None, None, "situation")
_F_RFR: Feuille = (
    "revenu_fiscal_de_reference", "<=", _PLAFOND_RFR_EMPLOI, _CA_2026_05, "plafond_rfr_emploi", "rfr",
)  # fmt: skip
_F_PRIME: Feuille = ("beneficiaire_prime_activite", "==", True, None, None, "prime-activite")

# Labels, as sentences and motifs name them.
_QF = "le quotient familial CAF/MSA"
_COMMUNE = "la commune de résidence (code COG)"
_RAV = "le reste à vivre journalier par personne"
_LOGEMENT = "le statut d'occupation du logement"
_REVENU_UC = "le revenu fiscal de référence par unité de consommation"
_AGE = "l'âge du demandeur"
_EMPLOI = "la situation au regard de l'emploi"
_RSA = "le bénéfice du RSA"
_ASF = "le bénéfice de l'allocation de soutien familial"
_AAH = "le bénéfice de l'allocation aux adultes handicapés"
_C2S = "le bénéfice de la complémentaire santé solidaire"
_PRIME = "le bénéfice de la prime d'activité"
_HANDICAP = "la reconnaissance d'un handicap (MDPH)"
_RFR = "le revenu fiscal de référence"


def _enfants(age_min: int, age_max: int) -> str:
    return f"le nombre d'enfants à charge âgés de {age_min} à {age_max} ans"


_ENFANTS_0_17, _ENFANTS_3_17, _ENFANTS_6_18 = _enfants(0, 17), _enfants(3, 17), _enfants(6, 18)
_ENFANTS_4_17, _ENFANTS_6_10 = _enfants(4, 17), _enfants(6, 10)
_ENFANTS_11_14, _ENFANTS_15_18 = _enfants(11, 14), _enfants(15, 18)

_DEUX_MINIMA = f"« au moins 2 des 4 conditions » ({_RSA}, {_ASF}, {_AAH}, {_C2S})"
_AAH_OU_QF = f"« au moins une des 2 conditions » ({_AAH}, {_QF})"
_DEUX_CRITERES = f"« au moins 2 des 4 conditions » ({_AGE}, {_AAH}, {_HANDICAP}, {_RSA})"
_RESSOURCES_MODESTES = f"« au moins une des 2 conditions » ({_RFR}, {_PRIME})"

# Fixed parts of sentences.
_COMMUNES_TEXTE = f"les communes du CCAS intercommunal (08105, 08480, 08409, 08263, {_CA_2025_40})"
_PLAFOND_ALIMENTAIRE_TEXTE = f"au plafond de quotient familial de l'aide alimentaire (650 €, {_CA_2025_40})"
_PLAFOND_RENTREE_TEXTE = f"au plafond de quotient familial de l'aide à la rentrée (900 €, {_CA_2025_40})"
_PLAFOND_SECOURS_TEXTE = f"au plafond de reste à vivre du secours d'urgence (12 €, {_CA_2026_05})"
_PLAFOND_LOYER_TEXTE = f"au plafond de reste à vivre de l'aide au loyer (15 €, {_CA_2025_40})"
_PLAFOND_RFR_TEXTE = (
    f"au plafond de revenu fiscal de référence de l'aide au retour à l'emploi (15 000 €, {_CA_2026_05})"
)
_BAREME_ENERGIE = (
    "du barème « aide à l'énergie selon le revenu par unité de consommation et la taille du foyer fiscal »"
)
_BAREME_LOYER = "du barème « aide au loyer selon le quotient familial »"
_BAREME_VACANCES = "du barème « participation aux séjours de vacances par enfant »"
_TABLE_CANTINE = "de la table « tarif social du repas de cantine »"
_PERSONNES_FOYER = "le nombre de personnes du foyer (allocataires et enfants)"
_RESSOURCES = "les ressources mensuelles du foyer"

# Parts of sentences by outcome.
_OUI_NON = {True: "oui", False: "non"}
_VAUT = {True: "vaut", False: "ne vaut pas"}
_FIGURE = {True: "figure parmi", False: "ne figure pas parmi"}
_REMPLIE = {True: "remplie", False: "non remplie"}
_INFERIEUR_OU_EGAL = {True: "est inférieur ou égal", False: "n'est pas inférieur ou égal"}
_SUPERIEUR_OU_EGAL = {True: "est supérieur ou égal", False: "n'est pas supérieur ou égal"}


@dataclass(frozen=True, slots=True)
class Entete:
    """What every evaluation of the règlement on JOUR carries besides its results."""

    reference: ReferenceReglement
    parametres_appliques: tuple[ParametreApplique, ...]
    faits_utilises: tuple[str, ...]
    baremes_appliques: tuple[BaremeApplique, ...]


def preparer(reglement: Reglement) -> Entete:
    """The header of the evaluations, once (the engine's set-up, never run per household)."""
    compile = plan(reglement)
    preparation = preparer_plan(compile, reglement, JOUR, None)
    return Entete(
        compile.reference,
        preparation.parametres_appliques,
        preparation.faits_de_base,
        preparation.baremes_appliques,
    )


# -- numbers and sources in French -----------------------------------------------------------------


def _groupes(chiffres: str) -> str:
    """« 1 234 », « 123 456 »: the digits of a whole number grouped by three beyond three."""
    if len(chiffres) <= 3:
        return chiffres
    if len(chiffres) <= 6:
        return f"{chiffres[:-3]} {chiffres[-3:]}"
    return f"{int(chiffres):,}".replace(",", " ")


def _chiffres(entier: int) -> str:
    """A whole number in French: « 5 », « 1 234 », « -1 234 »."""
    if -1000 < entier < 1000:
        return str(entier)
    return f"-{_groupes(str(-entier))}" if entier < 0 else _groupes(str(entier))


#: The texts of amounts in euros by value, as `explain.nombre` keeps them (equal values, whatever
#: their exponent, are written alike).
_EUROS: dict[Decimal, str] = {}


def _euros(valeur: Decimal) -> str:
    """« 1 234 € », « 7 571,25 € », « 0,50 € », « 1 € » (rounded to the cent beyond it): kept."""
    texte = _EUROS.get(valeur)
    if texte is None:
        if len(_EUROS) >= 4096:
            _EUROS.clear()
        texte = _EUROS[valeur] = _ecrire_euros(valeur)
    return texte


def _ecrire_euros(valeur: Decimal) -> str:
    texte = str(valeur)
    entier, _, decimales = texte.partition(".")
    if len(decimales) > 2 or "E" in texte:  # beyond the cent, or an exponent
        if not valeur.is_finite() or abs(valeur) >= 10**20:
            raise NotImplementedError(valeur)
        if valeur == valeur.to_integral_value():
            return f"{_chiffres(int(valeur))} €"
        # At the cent, both decimals written (« 8,00 € » for 7,999 €), as the engine does.
        entier, _, decimales = str(valeur.quantize(_CENT, rounding=ROUND_HALF_UP)).partition(".")
        signe = "-" if entier[0] == "-" else ""
        return f"{signe}{_groupes(entier.lstrip('-'))},{decimales} €"
    signe = ""
    if entier[0] == "-":
        signe, entier = "-", entier[1:]
    if decimales and decimales != "00":
        return f"{signe}{_groupes(entier)},{decimales if len(decimales) == 2 else decimales + '0'} €"
    return "0 €" if entier == "0" else f"{signe}{_groupes(entier)} €"


def _centimes(numerateur: int, denominateur: int) -> int:
    """numerateur / denominateur (denominateur > 0) in whole cents, rounded half away from zero."""
    if numerateur >= 0:
        return (200 * numerateur + denominateur) // (2 * denominateur)
    return -((denominateur - 200 * numerateur) // (2 * denominateur))


def _rapport(numerateur: int, denominateur: int) -> tuple[Decimal, str]:
    """An exact ratio (denominateur > 0) as results carry it, its exact `Decimal` when it has a
    finite decimal form, else rounded to the cent (half up), and as a sentence shows it, in €."""
    commun = gcd(numerateur, denominateur)
    numerateur, denominateur = numerateur // commun, denominateur // commun
    reste = denominateur
    while reste % 2 == 0:
        reste //= 2
    while reste % 5 == 0:
        reste //= 5
    if reste == 1:
        valeur = Decimal(numerateur) / Decimal(denominateur)
        return valeur, _euros(valeur)
    centimes = _centimes(numerateur, denominateur)
    if centimes == 0:  # the engine writes such a margin apart (never in the bench's households)
        raise NotImplementedError("a ratio rounded to zero")
    entier, reste_centimes = divmod(abs(centimes), 100)
    signe = "-" if centimes < 0 else ""
    texte = (
        f"{signe}{_chiffres(entier)},{reste_centimes:02d} €"
        if reste_centimes
        else f"{signe}{_chiffres(entier)} €"
    )
    return _CENT * centimes, texte


_ORIGINES = {
    "declaratif": "déclaré par l'agent",
    "demande": "saisi dans la demande",
    "simulation": "supposé pour la simulation",
}
_MOIS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
_PROVENANCES: dict[tuple[str, bool, str | None], str] = {}


def _provenance(source: Source) -> str:
    """« avril 2026, CNAF, non certifié », « supposé pour la simulation, non certifié »: by what
    the source says, kept (a few recur), as the engine keeps them."""
    if source.perime:
        raise NotImplementedError("stale source")
    cle = (source.fournisseur, source.certifie, source.periode)
    texte = _PROVENANCES.get(cle)
    if texte is None:
        fournisseur, certifie, periode = cle
        morceaux = []
        if periode is not None:
            morceaux.append(
                f"{_MOIS[int(periode[5:]) - 1]} {periode[:4]}" if len(periode) == 7 else f"revenus {periode}"
            )
        morceaux.append(_ORIGINES.get(fournisseur, fournisseur))
        if not certifie:
            morceaux.append("non certifié")
        if len(_PROVENANCES) >= 1024:
            _PROVENANCES.clear()
        texte = _PROVENANCES[cle] = ", ".join(morceaux)
    return texte


def _commune(*sources: Source) -> Source:
    """The source of a value computed from facts of one same source (else not covered)."""
    premiere = sources[0]
    for autre in sources[1:]:
        if autre is not premiere and autre != premiere:
            raise NotImplementedError("computed from facts of different sources")
    return premiere


def _marge(ecart: Decimal | int, texte: str, negatif: str) -> str:
    """« marge de 150 € », « dépassement de 235 € », « valeur exactement égale au seuil »."""
    if ecart > 0:
        return f"marge de {texte}"
    if ecart < 0:
        return f"{negatif} {texte}"
    return "valeur exactement égale au seuil"


def _age(naissance: Any) -> int:
    """Full years on JOUR of a full birth date (`DatePartielle`), the engine's rule."""
    if naissance is None or naissance.jour is None:
        raise NotImplementedError("partial birth date")
    age: int = _ANNEE - naissance.annee - ((naissance.mois, naissance.jour) > _MOIS_JOUR)
    return age


# -- the result objects ----------------------------------------------------------------------------


def _condition(  # noqa: PLR0917 - the fields that vary, in order
    feuille: Feuille,
    valeur: ValeurAffichee,
    satisfaite: bool,
    ecart: Decimal | None,
    source: Source,
    explication: str,
) -> ConditionEvaluee:
    c = _NOUVEAU(ConditionEvaluee)
    c.critere, c.operateur, c.seuil, c.deliberation, c.parametre, c.code = feuille
    c.valeur, c.satisfaite, c.ecart, c.source, c.explication, c.piece_justificative = (
        valeur, satisfaite, ecart, source, explication, None,
    )  # fmt: skip
    return c


def _resultat(  # noqa: PLR0917 - the fields that vary, in order
    dispositif: str,
    libelle: str,
    motif: str,
    conditions: tuple[ConditionEvaluee, ...],
    montant: Decimal | None,
    tranche: str | None,
    decisives: tuple[str, ...],
) -> ResultatDispositif:
    """An aid's result: eligible when it has an amount (every aid here has one)."""
    r = _NOUVEAU(ResultatDispositif)
    r.dispositif, r.libelle, r.statut, r.motif, r.conditions = (
        dispositif, libelle, _NON_ELIGIBLE if montant is None else _ELIGIBLE, motif, conditions,
    )  # fmt: skip
    r.montant, r.tranche, r.pieces_justificatives, r.base_legale, r.deliberation, r.decisives = (
        montant, tranche, (), None, _CA_2025_40, decisives,
    )  # fmt: skip
    return r


def _non_eligible(echecs: list[str], groupe: bool) -> str:
    """The motif of a refusal: the failed conditions named (« ; » between them when one is a group)."""
    if len(echecs) == 1:
        return f"Non éligible : condition non remplie {': ' if groupe else 'sur '}{echecs[0]}."
    if groupe:
        return f"Non éligible : conditions non remplies : {' ; '.join(echecs)}."
    return f"Non éligible : conditions non remplies sur {', '.join(echecs)}."


#: The sentences of leaves on a yes/no or a text, by leaf, value and what the source says.
_PHRASES: dict[tuple[str, str, str, bool | str, bool, str, bool, str | None], str] = {}


def _phrase(  # noqa: PLR0917 - the sentence's parts, in order
    sujet: str, valeur: bool | str, source: Source, verbe: str, objet: str, satisfaite: bool
) -> str:
    """« Le bénéfice du RSA (oui, supposé pour la simulation, non certifié) vaut oui : condition
    remplie. »: written once per value and source, as the engine keeps them (the key holds every
    part of the sentence)."""
    cle = (sujet, verbe, objet, valeur, satisfaite, source.fournisseur, source.certifie, source.periode)
    texte = _PHRASES.get(cle)
    if texte is None:
        if len(_PHRASES) >= 4096:
            _PHRASES.clear()
        montree = _OUI_NON[valeur] if valeur is True or valeur is False else valeur
        texte = _PHRASES[cle] = (
            f"{sujet} ({montree}, {_provenance(source)}) {verbe} {objet} : condition {_REMPLIE[satisfaite]}."
        )
    return texte


def _vaut_oui(sujet: str, valeur: bool, source: Source) -> str:
    """The sentence of a leaf « vaut oui »."""
    return _phrase(sujet, valeur, source, _VAUT[valeur], "oui", valeur)


def _remplies(nombre: int, sur: int) -> str:
    return f"{nombre} remplie sur {sur}" if nombre < 2 else f"{nombre} remplies sur {sur}"


def _plafond(valeur: Decimal, plafond: Decimal) -> tuple[bool, Decimal, str]:
    """A number against its ceiling: satisfied, the margin, and how the sentence ends."""
    ecart = plafond - valeur
    return valeur <= plafond, ecart, _marge(ecart, _euros(abs(ecart)), "dépassement de")


def _rapport_plafond(numerateur: int, denominateur: int, plafond: int) -> tuple[bool, Decimal, str]:
    """`_plafond` of an exact ratio (reste à vivre, revenu par UC): the margin at the cent."""
    ecart, texte = _rapport(plafond * denominateur - numerateur, denominateur)
    return numerateur <= plafond * denominateur, ecart, _marge(ecart, texte.lstrip("-"), "dépassement de")


def _minimum(valeur: int, seuil: int, unite: str) -> tuple[bool, Decimal, str]:
    """A count or an age against its floor: satisfied, the margin, and how the sentence ends."""
    ecart = valeur - seuil
    return ecart >= 0, Decimal(ecart), _marge(ecart, f"{_chiffres(abs(ecart))}{unite}", "il manque")


# -- the evaluation --------------------------------------------------------------------------------


def reference_expliquee(faits: Faits, entete: Entete) -> Evaluation:  # noqa: PLR0912, PLR0915
    """The engine's `Evaluation` of these facts (the bench's households) by the règlement on JOUR."""
    if faits.indisponibles:
        raise NotImplementedError("unavailable facts")
    connus: Mapping[str, Any] = faits.connus  # the values' types are the catalogue's

    # Each fact read once, with how its source reads.
    try:
        f = connus["quotient_familial_caf"]
        qf, s_qf = f.valeur, f.source
        if s_qf.periode not in _PERIODES_QF:
            raise NotImplementedError("QF period")
        qf_texte = _euros(qf)
        qf_contexte = f"{qf_texte}, {_provenance(s_qf)}"
        allocataires = connus["allocataires"]
        f = connus["enfants"]
        enfants, s_enfants = f.valeur, f.source
        f = connus["date_naissance_demandeur"]
        age, s_age = _age(f.valeur), f.source
        f = connus["beneficiaire_rsa"]
        rsa, s_rsa = f.valeur, f.source
        f = connus["beneficiaire_asf"]
        asf, s_asf = f.valeur, f.source
        f = connus["beneficiaire_aah"]
        aah, s_aah = f.valeur, f.source
        f = connus["beneficiaire_c2s"]
        c2s, s_c2s = f.valeur, f.source
        f = connus["beneficiaire_prime_activite"]
        prime, s_prime = f.valeur, f.source
        f = connus["handicap_reconnu"]
        handicap, s_handicap = f.valeur, f.source
        f = connus["revenu_fiscal_de_reference"]
        rfr, s_rfr = f.valeur, f.source
        if s_rfr.periode != _ANNEE_RFR:
            raise NotImplementedError("RFR year")
        f = connus["situation_familiale"]
        situation, s_situation = f.valeur, f.source
        f = connus["nombre_personnes_a_charge"]
        pac, s_pac = f.valeur, f.source
        f = connus["commune_residence"]
        commune, s_commune = f.valeur, f.source
        f = connus["statut_occupation_logement"]
        logement, s_logement = f.valeur, f.source
        f = connus["ressources_mensuelles"]
        ressources, s_ressources = f.valeur, f.source
        f = connus["charges_logement"]
        charges, s_charges = f.valeur, f.source
        f = connus["situation_emploi"]
        emploi, s_emploi = f.valeur, f.source
    except KeyError as manquant:
        raise NotImplementedError(f"missing fact {manquant}") from manquant

    # Derived values: children by age band, household size, reste à vivre, revenu par UC.
    n_0_17 = n_3_17 = n_6_18 = n_4_17 = n_6_10 = n_11_14 = n_15_18 = 0
    for enfant in enfants:
        a = _age(enfant.date_naissance)
        if 0 <= a <= 17:
            n_0_17 += 1
            n_3_17 += a >= 3
            n_4_17 += a >= 4
        if 6 <= a <= 18:
            n_6_18 += 1
            if a <= 10:
                n_6_10 += 1
            elif a <= 14:
                n_11_14 += 1
            else:
                n_15_18 += 1
    p_enfants = _provenance(s_enfants)
    taille = len(allocataires.valeur) + len(enfants)
    personnes = (2 if situation in ("M", "O") else 1) + pac
    # (ressources − charges) / taille / 30, exactly, as a ratio of integers.
    s_rav = _commune(s_ressources, s_charges, allocataires.source, s_enfants)
    n_rav, d_rav = (ressources - charges).as_integer_ratio()
    d_rav *= taille * 30
    rav, rav_texte = _rapport(n_rav, d_rav)
    rav_contexte = (
        f"{rav_texte}, {_provenance(s_rav)}, calculé : ({_euros(ressources)} − {_euros(charges)}) / "
        f"{taille} / 30"
    )
    # RFR / UC (1, 0,5 for a second person, 0,3 for each further), exactly.
    s_ruc = _commune(s_rfr, s_situation, s_pac)
    n_ruc, d_ruc = rfr.as_integer_ratio()
    n_ruc *= 10
    d_ruc *= 10 + (5 if personnes >= 2 else 0) + 3 * max(personnes - 2, 0)
    ruc, ruc_texte = _rapport(n_ruc, d_ruc)
    age_contexte = f"{_chiffres(age)} ans, {_provenance(s_age)}"

    # Sentences of leaves that several aids share.
    dans_communes = commune in _COMMUNES
    e_commune = _phrase(
        "La commune de résidence (code COG)", commune, s_commune, _FIGURE[dans_communes], _COMMUNES_TEXTE,
        dans_communes,
    )  # fmt: skip
    e_rsa = _vaut_oui("Le bénéfice du RSA", rsa, s_rsa)
    e_aah = _vaut_oui("Le bénéfice de l'allocation aux adultes handicapés", aah, s_aah)

    resultats = []

    # aide-alimentaire
    conditions: tuple[ConditionEvaluee, ...]
    ok_qf, ecart, fin = _plafond(qf, _PLAFOND_QF_ALIMENTAIRE)
    e_qf = (
        f"Le quotient familial CAF/MSA ({qf_contexte}) {_INFERIEUR_OU_EGAL[ok_qf]} "
        f"{_PLAFOND_ALIMENTAIRE_TEXTE} : condition {_REMPLIE[ok_qf]}, {fin}."
    )
    conditions = (
        _condition(_F_COMMUNE, commune, dans_communes, None, s_commune, e_commune),
        _condition(_F_QF_ALIMENTAIRE, qf, ok_qf, ecart, s_qf, e_qf),
    )
    if dans_communes and ok_qf:
        brut = 50 + 25 * n_0_17
        montant = min(brut, 150)
        phrase = f"{montant} € = 50 € + 25 € × {n_0_17} ({_ENFANTS_0_17})"
        if brut > 150:
            phrase += f" = {brut} €, plafonné à 150 €"
        motif = f"Éligible : les 2 conditions sont remplies. Montant : {phrase}."
        r = _resultat("aide-alimentaire", "Aide alimentaire", motif, conditions,
                      Decimal(montant).quantize(_CENT), None, ("commune", "plafond-qf"))  # fmt: skip
    else:
        echecs, codes = [], []
        if not dans_communes:
            echecs.append(_COMMUNE)
            codes.append("commune")
        if not ok_qf:
            echecs.append(_QF)
            codes.append("plafond-qf")
        r = _resultat("aide-alimentaire", "Aide alimentaire", _non_eligible(echecs, False), conditions,
                      None, None, tuple(codes))  # fmt: skip
    resultats.append(r)

    # secours-urgence
    ok_rav, ecart, fin = _rapport_plafond(n_rav, d_rav, 12)
    e_rav = (
        f"Le reste à vivre journalier par personne ({rav_contexte}) {_INFERIEUR_OU_EGAL[ok_rav]} "
        f"{_PLAFOND_SECOURS_TEXTE} : condition {_REMPLIE[ok_rav]}, {fin}."
    )
    e_asf = _vaut_oui("Le bénéfice de l'allocation de soutien familial", asf, s_asf)
    e_c2s = _vaut_oui("Le bénéfice de la complémentaire santé solidaire", c2s, s_c2s)
    conditions = (
        _condition(_F_RAV_SECOURS, rav, ok_rav, ecart, s_rav, e_rav),
        _condition(_F_RSA, rsa, rsa, None, s_rsa, e_rsa),
        _condition(_F_ASF, asf, asf, None, s_asf, e_asf),
        _condition(_F_AAH, aah, aah, None, s_aah, e_aah),
        _condition(_F_C2S, c2s, c2s, None, s_c2s, e_c2s),
    )
    minima = rsa + asf + aah + c2s
    groupe = f"{_DEUX_MINIMA} : {_remplies(minima, 4)}"
    if ok_rav and minima >= 2:
        brut = 100 + 50 * (taille - 1)
        montant = min(brut, 300)
        phrase = f"{montant} € = 100 € + 50 € × ({taille} ({_PERSONNES_FOYER}) − 1)"
        if brut > 300:
            phrase += f" = {brut} €, plafonné à 300 €"
        motif = f"Éligible : conditions remplies : {_RAV} ; {groupe}. Montant : {phrase}."
        r = _resultat("secours-urgence", "Secours d'urgence", motif, conditions, Decimal(montant), None,
                      ("reste-a-vivre", "deux-minima"))  # fmt: skip
    else:
        echecs, codes = [], []
        if not ok_rav:
            echecs.append(_RAV)
            codes.append("reste-a-vivre")
        if minima < 2:
            echecs.append(groupe)
            codes.append("deux-minima")
        r = _resultat("secours-urgence", "Secours d'urgence", _non_eligible(echecs, minima < 2), conditions,
                      None, None, tuple(codes))  # fmt: skip
    resultats.append(r)

    # aide-energie
    ok_logement = logement in _LOGEMENTS_ENERGIE
    e_logement = _phrase(
        "Le statut d'occupation du logement", logement, s_logement, _FIGURE[ok_logement],
        "les valeurs locataire, proprietaire", ok_logement,
    )  # fmt: skip
    ok_ruc, ecart, fin = _rapport_plafond(n_ruc, d_ruc, 11000)
    e_ruc = (
        f"Le revenu fiscal de référence par unité de consommation ({ruc_texte}, {_provenance(s_ruc)}) "
        f"{_INFERIEUR_OU_EGAL[ok_ruc]} à 11 000 € : condition {_REMPLIE[ok_ruc]}, {fin}."
    )
    conditions = (
        _condition(_F_LOGEMENT, logement, ok_logement, None, s_logement, e_logement),
        _condition(_F_REVENU_UC, ruc, ok_ruc, ecart, s_ruc, e_ruc),
    )
    if ok_logement and ok_ruc:
        for tranche, plafond, montants in _ENERGIE:  # noqa: B007 - the row found
            if n_ruc <= plafond * d_ruc:
                break
        colonne = 0 if personnes <= 1 else 1 if personnes <= 3 else 2
        montant_energie = montants[colonne]
        motif = (
            f"Éligible : les 2 conditions sont remplies. Montant : {_euros(montant_energie)} (tranche "
            f"{tranche} {_BAREME_ENERGIE} pour {_REVENU_UC} de {ruc_texte}, colonne "
            f"{_COLONNES_ENERGIE[colonne]} pour le nombre de personnes du foyer fiscal de {personnes})."
        )
        r = _resultat("aide-energie", "Aide à l'énergie", motif, conditions, montant_energie, tranche,
                      ("logement", "revenu-uc"))  # fmt: skip
    else:
        echecs, codes = [], []
        if not ok_logement:
            echecs.append(_LOGEMENT)
            codes.append("logement")
        if not ok_ruc:
            echecs.append(_REVENU_UC)
            codes.append("revenu-uc")
        r = _resultat("aide-energie", "Aide à l'énergie", _non_eligible(echecs, False), conditions,
                      None, None, tuple(codes))  # fmt: skip
    resultats.append(r)

    # tarif-cantine
    ok, ecart, fin = _minimum(n_3_17, 1, "")
    e_enfants = (
        f"Le nombre d'enfants à charge âgés de 3 à 17 ans ({n_3_17}, {p_enfants}) {_SUPERIEUR_OU_EGAL[ok]} "
        f"à 1 : condition {_REMPLIE[ok]}, {fin}."
    )
    conditions = (_condition(_F_ENFANT_3_17, n_3_17, ok, ecart, s_enfants, e_enfants),)
    if ok:
        if rsa:
            tranche, tarif = "solidaire", Decimal("0.50")
            ligne = f"ligne 1 {_TABLE_CANTINE} : {_RSA} (oui) vaut oui"
        elif qf < 400:
            tranche, tarif = "A", Decimal("1.00")
            ligne = f"ligne 2 {_TABLE_CANTINE} : {_QF} ({qf_texte}) est inférieur à 400 €"
        elif qf <= 800:
            tranche, tarif = "B", Decimal("1.80")
            ligne = f"ligne 3 {_TABLE_CANTINE} : {_QF} ({qf_texte}) est inférieur ou égal à 800 €"
        else:
            tranche, tarif = "C", Decimal("3.20")
            ligne = f"ligne 4 (autre cas) {_TABLE_CANTINE}"
        motif = f"Éligible : la condition est remplie. Montant : {_euros(tarif)} ({ligne})."
        r = _resultat("tarif-cantine", "Tarif social de la cantine", motif, conditions, tarif, tranche,
                      ("enfant-scolarise",))  # fmt: skip
    else:
        r = _resultat("tarif-cantine", "Tarif social de la cantine", _non_eligible([_ENFANTS_3_17], False),
                      conditions, None, None, ("enfant-scolarise",))  # fmt: skip
    resultats.append(r)

    # aide-rentree
    ok_enfants, ecart, fin = _minimum(n_6_18, 1, "")
    e_enfants = (
        f"Le nombre d'enfants à charge âgés de 6 à 18 ans ({n_6_18}, {p_enfants}) "
        f"{_SUPERIEUR_OU_EGAL[ok_enfants]} à 1 : condition {_REMPLIE[ok_enfants]}, {fin}."
    )
    ok_qf, ecart_qf, fin = _plafond(qf, _PLAFOND_QF_RENTREE)
    e_qf = (
        f"Le quotient familial CAF/MSA ({qf_contexte}) {_INFERIEUR_OU_EGAL[ok_qf]} "
        f"{_PLAFOND_RENTREE_TEXTE} : condition {_REMPLIE[ok_qf]}, {fin}."
    )
    conditions = (
        _condition(_F_ENFANT_6_18, n_6_18, ok_enfants, ecart, s_enfants, e_enfants),
        _condition(_F_QF_RENTREE, qf, ok_qf, ecart_qf, s_qf, e_qf),
    )
    if ok_enfants and ok_qf:
        montant = 30 * n_6_10 + 45 * n_11_14 + 60 * n_15_18
        motif = (
            f"Éligible : les 2 conditions sont remplies. Montant : {_chiffres(montant)} € = 30 € × {n_6_10} "
            f"({_ENFANTS_6_10}) + 45 € × {n_11_14} ({_ENFANTS_11_14}) + 60 € × {n_15_18} ({_ENFANTS_15_18})."
        )
        r = _resultat("aide-rentree", "Aide à la rentrée scolaire", motif, conditions,
                      Decimal(montant).quantize(_CENT), None, ("enfant-6-18", "plafond-qf"))  # fmt: skip
    else:
        echecs, codes = [], []
        if not ok_enfants:
            echecs.append(_ENFANTS_6_18)
            codes.append("enfant-6-18")
        if not ok_qf:
            echecs.append(_QF)
            codes.append("plafond-qf")
        r = _resultat("aide-rentree", "Aide à la rentrée scolaire", _non_eligible(echecs, False), conditions,
                      None, None, tuple(codes))  # fmt: skip
    resultats.append(r)

    # colis-seniors
    ok_age, ecart_age, fin = _minimum(age, 70, " ans")
    e_age = (
        f"L'âge du demandeur ({age_contexte}) {_SUPERIEUR_OU_EGAL[ok_age]} à 70 ans : condition "
        f"{_REMPLIE[ok_age]}, {fin}."
    )
    ok_qf, ecart_qf, fin = _plafond(qf, _PLAFOND_QF_RENTREE)
    e_qf = (
        f"Le quotient familial CAF/MSA ({qf_contexte}) {_INFERIEUR_OU_EGAL[ok_qf]} à 900 € : condition "
        f"{_REMPLIE[ok_qf]}, {fin}."
    )
    conditions = (
        _condition(_F_AGE_70, age, ok_age, ecart_age, s_age, e_age),
        _condition(_F_COMMUNE, commune, dans_communes, None, s_commune, e_commune),
        _condition(_F_AAH, aah, aah, None, s_aah, e_aah),
        _condition(_F_QF_MODESTE, qf, ok_qf, ecart_qf, s_qf, e_qf),
    )
    aah_ou_qf = aah + ok_qf
    groupe = f"{_AAH_OU_QF} : {_remplies(aah_ou_qf, 2)}"
    if ok_age and dans_communes and aah_ou_qf:
        motif = f"Éligible : conditions remplies : {_AGE} ; {_COMMUNE} ; {groupe}. Montant : 40 €."
        r = _resultat("colis-seniors", "Colis des aînés", motif, conditions, _MONTANT_40, None,
                      ("age", "commune", "aah-ou-qf"))  # fmt: skip
    else:
        echecs, codes = [], []
        if not ok_age:
            echecs.append(_AGE)
            codes.append("age")
        if not dans_communes:
            echecs.append(_COMMUNE)
            codes.append("commune")
        if not aah_ou_qf:
            echecs.append(groupe)
            codes.append("aah-ou-qf")
        r = _resultat("colis-seniors", "Colis des aînés", _non_eligible(echecs, not aah_ou_qf), conditions,
                      None, None, tuple(codes))  # fmt: skip
    resultats.append(r)

    # aide-loyer
    locataire = logement == "locataire"
    e_locataire = _phrase(
        "Le statut d'occupation du logement", logement, s_logement, _VAUT[locataire], "locataire", locataire
    )
    e_sans_rsa = _phrase("Le bénéfice du RSA", rsa, s_rsa, _VAUT[rsa], "oui", not rsa)
    ok_rav, ecart, fin = _rapport_plafond(n_rav, d_rav, 15)
    e_rav = (
        f"Le reste à vivre journalier par personne ({rav_contexte}) {_INFERIEUR_OU_EGAL[ok_rav]} "
        f"{_PLAFOND_LOYER_TEXTE} : condition {_REMPLIE[ok_rav]}, {fin}."
    )
    conditions = (
        _condition(_F_LOCATAIRE, logement, locataire, None, s_logement, e_locataire),
        _condition(_F_SANS_RSA, rsa, not rsa, None, s_rsa, e_sans_rsa),
        _condition(_F_RAV_LOYER, rav, ok_rav, ecart, s_rav, e_rav),
    )
    if locataire and not rsa and ok_rav:
        tranche, bareme = ("L1", 201) if qf <= 500 else ("L2", 121) if qf <= 800 else ("L3", 61)
        montant = (bareme + 1) // 2  # half the barème, rounded up to the euro
        arrondi = "" if bareme % 2 == 0 else f" = {_chiffres(bareme // 2)},50 €, arrondi à l'euro supérieur"
        motif = (
            f"Éligible : les 3 conditions sont remplies. Montant : {montant} € = 0,5 × {bareme} € (tranche "
            f"{tranche} {_BAREME_LOYER} pour {_QF} de {qf_texte}){arrondi}."
        )
        r = _resultat("aide-loyer", "Aide au loyer", motif, conditions, Decimal(montant), None,
                      ("locataire", "sans-rsa", "reste-a-vivre"))  # fmt: skip
    else:
        echecs, codes = [], []
        if not locataire:
            echecs.append(_LOGEMENT)
            codes.append("locataire")
        if rsa:
            echecs.append(f"{_RSA} (condition « non »)")
            codes.append("sans-rsa")
        if not ok_rav:
            echecs.append(_RAV)
            codes.append("reste-a-vivre")
        r = _resultat("aide-loyer", "Aide au loyer", _non_eligible(echecs, False), conditions, None, None,
                      tuple(codes))  # fmt: skip
    resultats.append(r)

    # transport-solidaire
    ok_age, ecart_age, fin = _minimum(age, 65, " ans")
    e_age = (
        f"L'âge du demandeur ({age_contexte}) {_SUPERIEUR_OU_EGAL[ok_age]} à 65 ans : condition "
        f"{_REMPLIE[ok_age]}, {fin}."
    )
    e_handicap = _vaut_oui("La reconnaissance d'un handicap (MDPH)", handicap, s_handicap)
    conditions = (
        _condition(_F_COMMUNE, commune, dans_communes, None, s_commune, e_commune),
        _condition(_F_AGE_65, age, ok_age, ecart_age, s_age, e_age),
        _condition(_F_AAH, aah, aah, None, s_aah, e_aah),
        _condition(_F_HANDICAP, handicap, handicap, None, s_handicap, e_handicap),
        _condition(_F_RSA, rsa, rsa, None, s_rsa, e_rsa),
    )
    criteres = ok_age + aah + handicap + rsa
    groupe = f"{_DEUX_CRITERES} : {_remplies(criteres, 4)}"
    if dans_communes and criteres >= 2:
        motif = f"Éligible : conditions remplies : {_COMMUNE} ; {groupe}. Montant : 60 €."
        r = _resultat("transport-solidaire", "Transport solidaire", motif, conditions, _MONTANT_60, None,
                      ("commune", "deux-criteres"))  # fmt: skip
    else:
        echecs, codes = [], []
        if not dans_communes:
            echecs.append(_COMMUNE)
            codes.append("commune")
        if criteres < 2:
            echecs.append(groupe)
            codes.append("deux-criteres")
        r = _resultat("transport-solidaire", "Transport solidaire", _non_eligible(echecs, criteres < 2),
                      conditions, None, None, tuple(codes))  # fmt: skip
    resultats.append(r)

    # vacances-enfants
    ok, ecart, fin = _minimum(n_4_17, 1, "")
    e_enfants = (
        f"Le nombre d'enfants à charge âgés de 4 à 17 ans ({n_4_17}, {p_enfants}) {_SUPERIEUR_OU_EGAL[ok]} "
        f"à 1 : condition {_REMPLIE[ok]}, {fin}."
    )
    conditions = (_condition(_F_ENFANT_4_17, n_4_17, ok, ecart, s_enfants, e_enfants),)
    if ok:
        tranche, par_enfant = ("V1", 180) if qf < 450 else ("V2", 120) if qf < 900 else ("plein", 40)
        montant = par_enfant * n_4_17
        motif = (
            f"Éligible : la condition est remplie. Montant : {_chiffres(montant)} € = {par_enfant} € "
            f"(tranche {tranche} {_BAREME_VACANCES} pour {_QF} de {qf_texte}) × {n_4_17} ({_ENFANTS_4_17})."
        )
        r = _resultat("vacances-enfants", "Séjours de vacances des enfants", motif, conditions,
                      Decimal(montant).quantize(_CENT), None, ("enfant-4-17",))  # fmt: skip
    else:
        motif = _non_eligible([_ENFANTS_4_17], False)
        r = _resultat("vacances-enfants", "Séjours de vacances des enfants", motif, conditions, None, None,
                      ("enfant-4-17",))  # fmt: skip
    resultats.append(r)

    # retour-emploi
    ok_emploi = emploi in _SITUATIONS_EMPLOI
    e_emploi = _phrase(
        "La situation au regard de l'emploi", emploi, s_emploi, _FIGURE[ok_emploi],
        "les valeurs demandeur_emploi, formation", ok_emploi,
    )  # fmt: skip
    ok_rfr, ecart_rfr, fin = _plafond(rfr, _PLAFOND_RFR_EMPLOI)
    e_rfr = (
        f"Le revenu fiscal de référence ({_euros(rfr)}, {_provenance(s_rfr)}) {_INFERIEUR_OU_EGAL[ok_rfr]} "
        f"{_PLAFOND_RFR_TEXTE} : condition {_REMPLIE[ok_rfr]}, {fin}."
    )
    e_prime = _vaut_oui("Le bénéfice de la prime d'activité", prime, s_prime)
    conditions = (
        _condition(_F_SITUATION, emploi, ok_emploi, None, s_emploi, e_emploi),
        _condition(_F_RFR, rfr, ok_rfr, ecart_rfr, s_rfr, e_rfr),
        _condition(_F_PRIME, prime, prime, None, s_prime, e_prime),
    )
    modestes = ok_rfr + prime
    groupe = f"{_RESSOURCES_MODESTES} : {_remplies(modestes, 2)}"
    if ok_emploi and modestes:
        brut = 200 - ressources / 10
        formule = f"200 € − {_euros(ressources)} ({_RESSOURCES}) / 10"
        if brut < 50:
            aide = Decimal(50)
            phrase = f"50 € = {formule} = {_euros(brut)}, porté au plancher de 50 €"
        else:
            aide = Decimal(int(brut / 5) * 5)  # down to a multiple of 5 €
            phrase = f"{_euros(aide)} = {formule}"
            if aide != brut:
                phrase += f" = {_euros(brut)}, arrondi au multiple de 5 inférieur"
        motif = f"Éligible : conditions remplies : {_EMPLOI} ; {groupe}. Montant : {phrase}."
        r = _resultat("retour-emploi", "Aide au retour à l'emploi", motif, conditions, aide, None,
                      ("situation", "ressources-modestes"))  # fmt: skip
    else:
        echecs, codes = [], []
        if not ok_emploi:
            echecs.append(_EMPLOI)
            codes.append("situation")
        if not modestes:
            echecs.append(groupe)
            codes.append("ressources-modestes")
        r = _resultat("retour-emploi", "Aide au retour à l'emploi", _non_eligible(echecs, not modestes),
                      conditions, None, None, tuple(codes))  # fmt: skip
    resultats.append(r)

    e = _NOUVEAU(Evaluation)
    e.reglement, e.date_reference, e.resultats = entete.reference, JOUR, tuple(resultats)
    e.parametres_appliques, e.faits_utilises, e.baremes_appliques = (
        entete.parametres_appliques, entete.faits_utilises, entete.baremes_appliques,
    )  # fmt: skip
    return e
