"""The format's second-edition constructs, one by one: amount formulas (cap, floor, rounding),
declared and computed facts, barèmes with inclusive bounds and two entries, first-hit decision
tables, unknown-data policies; each with its load-time checks and its explanation."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.rules.derived import Incalculable
from app.rules.engine import evaluer
from app.rules.formules import FormuleInvalide, Nom, NonPonctuel, Rendu, compiler, lire_formule, ponctuel
from app.rules.loader import ReglementInvalide, lire_reglement
from app.rules.montants import arrondir
from app.rules.results import ResultatDispositif, Statut
from app.rules.simulation import FaitsInvalides, lire_faits

JOUR = date(2026, 5, 15)
ENTETE = """\
reglement: {id: c, version: "1", libelle: C, organisme: {nom: CCAS}}
parametres:
  plafond: {libelle: le plafond de l'aide, unite: "€", valeurs: [{depuis: 2020-01-01, valeur: 150}]}
"""


def _un(texte: str, **faits: Any) -> ResultatDispositif:
    reglement = lire_reglement(ENTETE + texte, "c.yaml")
    (resultat,) = evaluer(reglement, lire_faits(faits, catalogue=reglement.catalogue), JOUR).resultats
    return resultat


def _refus(texte: str) -> ReglementInvalide:
    with pytest.raises(ReglementInvalide) as erreur:
        lire_reglement(ENTETE + texte, "c.yaml")
    return erreur.value


def _aide(montant: str, conditions: str = "[{fait: beneficiaire_rsa, operateur: '==', valeur: true}]") -> str:
    debut = "dispositifs:\n  - id: aide\n    libelle: Aide\n"
    return f"{debut}    conditions: {conditions}\n    montant: {montant}\n"


# -- formulas ------------------------------------------------------------------------------------


def test_an_amount_formula_is_exact_and_explained_with_its_values() -> None:
    resultat = _un(
        _aide("{formule: 100 + 20 * nombre_enfants, plafond: plafond}"),
        beneficiaire_rsa=True,
        enfants=["2015-01-01", "2016-01-01", "2017-01-01"],
    )
    assert resultat.montant == Decimal(150)
    assert resultat.motif == (
        "Éligible : la condition est remplie. Montant : 150 € = 100 € + 20 € × 3 (le nombre d'enfants à "
        "charge) = 160 €, plafonné à 150 €."
    )


def test_sums_over_age_bands_and_half_of_a_bareme() -> None:
    baremes = (
        "baremes:\n  b:\n    libelle: barème B\n    fait: quotient_familial_caf\n    unite: '€'\n"
        "    versions:\n      - depuis: 2020-01-01\n        tranches:\n"
        "          - {jusqu_a: 500, montant: 201, libelle: L1}\n"
        "          - {plus_de: 500, montant: 61, libelle: L2}\n"
    )
    resultat = _un(
        baremes + _aide('{formule: "0.5 * b + 30 * nombre_enfants[6-10] + 45 * nombre_enfants[11-14]"}'),
        beneficiaire_rsa=True,
        quotient_familial_caf=500,
        enfants=["2018-01-01", "2013-01-01", "2012-01-01", "2000-01-01"],
    )
    # 100.50 + 30 × 1 + 45 × 2, exactly
    assert resultat.montant == Decimal("220.50")
    assert "0,5 × 201 € (tranche L1 du barème « barème B » pour le quotient familial CAF/MSA de 500 €)" in (
        resultat.motif
    )


@pytest.mark.parametrize(
    ("valeur", "pas", "sens", "attendu"),
    [
        (Decimal("76.6"), Decimal(5), "bas", Decimal(75)),
        (Decimal("76.6"), Decimal(5), "haut", Decimal(80)),
        (Decimal("77.5"), Decimal(5), "plus_proche", Decimal(80)),
        (Decimal("100.5"), Decimal(1), "plus_proche", Decimal(101)),
        (Decimal("100.5"), Decimal(1), "bas", Decimal(100)),
        (Fraction(1000, 3), Decimal("0.01"), "plus_proche", Decimal("333.33")),
        (Fraction(1000, 3), Decimal("0.01"), "haut", Decimal("333.34")),
        (Fraction(-1000, 3), Decimal(1), "bas", Decimal(-334)),
    ],
)
def test_rounding_is_exact_in_the_declared_direction(
    valeur: Any, pas: Decimal, sens: str, attendu: Decimal
) -> None:
    assert arrondir(valeur, pas, sens) == attendu


def test_floor_and_declared_rounding_are_explained() -> None:
    texte = ENTETE + _aide(
        "{formule: 200 - quotient_familial_caf / 10, plancher: 50, arrondi: {pas: 5, sens: bas}}"
    )
    reglement = lire_reglement(texte.replace(ENTETE + ENTETE, ENTETE), "c.yaml")
    for qf, montant, suite in (
        (1800, 50, ", porté au plancher de 50 €"),
        (1234, 75, ", arrondi au multiple de 5 inférieur"),
    ):
        faits = lire_faits({"beneficiaire_rsa": True, "quotient_familial_caf": qf})
        (resultat,) = evaluer(reglement, faits, JOUR).resultats
        assert resultat.montant == montant
        assert resultat.motif.endswith(f"{suite}."), resultat.motif


def test_a_division_by_zero_leaves_the_amount_to_verify() -> None:
    resultat = _un(_aide("{formule: 100 / nombre_enfants}"), beneficiaire_rsa=True, enfants=[])
    assert resultat.statut is Statut.A_VERIFIER
    assert resultat.decisives == ("montant",)
    assert "le montant (division par zéro)" in resultat.motif


def test_an_unknown_input_uses_the_amount_the_reglement_gives() -> None:
    resultat = _un(_aide("{formule: 20 * nombre_enfants, si_inconnu: {montant: 30}}"), beneficiaire_rsa=True)
    assert resultat.statut is Statut.ELIGIBLE
    assert resultat.montant == Decimal(30)
    assert "montant prévu par le règlement quand le nombre d'enfants à charge est inconnu" in resultat.motif


def test_a_partial_birth_date_decides_the_amount_only_if_every_possible_age_gives_it() -> None:
    formule = _aide('{formule: "30 * nombre_enfants[6-10]", plafond: 30}')
    # Born in 2016 : 9 or 10 years old on 15 May 2026, inside the band either way.
    assert _un(formule, beneficiaire_rsa=True, enfants=["2016"]).montant == Decimal(30)
    # Born in 2015 : 10 or 11: 0 € or 30 €, undecided.
    assert _un(formule, beneficiaire_rsa=True, enfants=["2015"]).statut is Statut.A_VERIFIER


@pytest.mark.parametrize(
    ("formule", "message"),
    [
        ("100 + * 2", "formule « 100 + * 2 » : « * » inattendu"),
        ("(100 + 2", "formule « (100 + 2 » : « ) » attendu"),
        (
            "650,5 * 2",
            "formule « 650,5 * 2 » : « , » inattendu (les décimales s'écrivent avec un point : 650.5)",
        ),
        ("100 $ 2", "caractère inattendu « $ » dans la formule « 100 $ 2 »"),
        ("nombre_enfants[9-3]", "tranche d'âge « 9-3 » : l'âge minimal dépasse l'âge maximal"),
    ],
)
def test_an_unreadable_formula_is_refused(formule: str, message: str) -> None:
    with pytest.raises(FormuleInvalide) as erreur:
        lire_formule(formule)
    assert str(erreur.value) == message


@pytest.mark.parametrize(
    ("montant", "message"),
    [
        ("{formule: 10 * enfant}", "nom inconnu « enfant » dans la formule (ni fait, ni paramètre)"),
        (
            "{formule: 10 * commune_residence}",
            "incompatibilité de type : « commune_residence » n'est pas un nombre",
        ),
        ('{formule: "10 * age_demandeur[3-5]"}', "le fait « age_demandeur » n'accepte pas de tranche d'âge"),
        (
            "{formule: 10, valeur: 3}",
            "le montant vient d'un « bareme », d'un « parametre », d'une « valeur », "
            "d'une « formule » ou d'une « table » (un seul)",
        ),
        (
            "{formule: 10, plafond: plafon}",
            "le plafond : « plafon » n'est ni un nombre, ni un paramètre numérique",
        ),
        (
            "{formule: 10, arrondi: {pas: 1, sens: milieu}}",
            "sens d'arrondi inconnu « milieu » (bas, haut ou plus_proche)",
        ),
    ],
)
def test_an_amount_that_cannot_be_computed_is_refused_at_load(montant: str, message: str) -> None:
    erreur = _refus(_aide(montant))
    assert erreur.message == message
    assert erreur.ligne is not None


# -- declared and computed facts -------------------------------------------------------------------

FAITS = """\
faits_declares:
  ressources: {libelle: les ressources mensuelles, type: nombre, unite: "€", min: 0, piece: bulletins}
  charges: {libelle: les charges mensuelles, type: nombre, unite: "€", min: 0, piece: quittance de loyer}
faits_calcules:
  reste_a_vivre:
    libelle: le reste à vivre journalier par personne
    unite: "€"
    formule: (ressources - charges) / taille_foyer / 30
"""
RESTE = (
    FAITS
    + "dispositifs:\n  - id: aide\n    libelle: Aide\n    conditions:\n"
    + "      - {fait: reste_a_vivre, operateur: '<=', valeur: 10}\n"
)


def test_a_computed_fact_is_exact_and_explained_with_its_inputs() -> None:
    resultat = _un(
        RESTE, ressources=1300, charges=550, allocataires=["1980"], enfants=["2010", "2012", "2014"]
    )
    (condition,) = resultat.conditions
    assert condition.satisfaite is True
    assert condition.valeur == Decimal("6.25")
    assert condition.explication == (
        "Le reste à vivre journalier par personne (6,25 €, supposé pour la simulation, non certifié, "
        "calculé : (1 300 € − 550 €) / 4 / 30) est inférieur ou égal à 10 € : condition remplie, "
        "marge de 3,75 €."
    )


def test_a_computed_fact_is_undecided_on_a_missing_operand_or_a_zero_divisor() -> None:
    manquant = _un(RESTE, ressources=1300, allocataires=["1980"], enfants=[])
    assert manquant.statut is Statut.A_VERIFIER
    assert manquant.pieces_justificatives == ("quittance de loyer",)
    assert "les charges mensuelles : donnée non fournie" in manquant.conditions[0].explication
    zero = _un(RESTE, ressources=1300, charges=500, allocataires=[], enfants=[])
    assert zero.statut is Statut.A_VERIFIER
    assert "division par zéro" in zero.conditions[0].explication


def test_declared_facts_are_typed_and_bounded() -> None:
    reglement = lire_reglement(ENTETE + RESTE, "c.yaml")
    with pytest.raises(FaitsInvalides) as erreur:
        lire_faits({"ressources": -1, "charges": "x"}, catalogue=reglement.catalogue)
    assert erreur.value.erreurs == [
        ("ressources", "doit être supérieur ou égal à 0 €"),
        ("charges", "doit être un nombre"),
    ]
    # Another règlement does not know them.
    with pytest.raises(FaitsInvalides):
        lire_faits({"ressources": 1})


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        (
            "quotient_familial_caf: {libelle: x, type: nombre, piece: p}",
            "le fait déclaré « quotient_familial_caf » : "
            "ce fait vient des API de l'État, il ne se déclare pas",
        ),
        (
            "x: {libelle: x, type: liste, piece: p}",
            "le fait déclaré « x » : type inconnu « liste » (nombre, entier, booleen, date, texte, choix)",
        ),
        (
            "x: {libelle: x, type: choix, piece: p}",
            "le fait déclaré « x » : un choix énumère ses « valeurs »",
        ),
        (
            "x: {libelle: x, type: nombre, min: 5, max: 1, piece: p}",
            "le fait déclaré « x » : « min » dépasse « max »",
        ),
        ("x: {libelle: x, type: booleen}", "le fait déclaré « x » : clé obligatoire absente « piece »"),
    ],
)
def test_a_faulty_declaration_is_refused(declaration: str, message: str) -> None:
    erreur = _refus("faits_declares:\n  " + declaration + "\n" + _aide("{valeur: 1}"))
    assert erreur.message == message


def test_a_computed_fact_reads_only_known_names() -> None:
    erreur = _refus("faits_calcules:\n  r: {libelle: r, formule: ressources / 2}\n" + _aide("{valeur: 1}"))
    assert erreur.message == "nom inconnu « ressources » dans la formule (ni fait, ni paramètre)"
    assert erreur.ligne == 5


# -- barèmes -----------------------------------------------------------------------------------------


def _bareme(tranches: str, extra: str = "") -> str:
    return (
        "baremes:\n  b:\n    libelle: barème B\n    fait: quotient_familial_caf\n    unite: '€'\n" + extra
        + "    versions:\n      - depuis: 2020-01-01\n        tranches:\n" + tranches
        + _aide("{bareme: b}")
    )  # fmt: skip


INCLUSIF = (
    "          - {jusqu_a: 500, montant: 3, libelle: A}\n          - {plus_de: 500, montant: 5, libelle: B}\n"
)


@pytest.mark.parametrize(("qf", "tranche"), [(500, "A"), ("500.01", "B"), (499, "A")])
def test_jusqu_a_is_inclusive(qf: Any, tranche: str) -> None:
    assert _un(_bareme(INCLUSIF), beneficiaire_rsa=True, quotient_familial_caf=qf).tranche == tranche


@pytest.mark.parametrize(
    ("tranches", "message"),
    [
        (
            "          - {jusqu_a: 500, montant: 3}\n          - {de: 500, montant: 5}\n",
            "chevauchement de tranches : 500 est dans les deux (« jusqu_a » puis « de »)",
        ),
        (
            "          - {moins_de: 500, montant: 3}\n          - {plus_de: 500, montant: 5}\n",
            "trou entre tranches : 500 n'est dans aucune (« moins_de » puis « plus_de »)",
        ),
        (
            "          - {jusqu_a: 500, montant: 3}\n          - {plus_de: 600, montant: 5}\n",
            "trou entre tranches : aucune tranche ne couvre de plus de 500 à 600",
        ),
        (
            "          - {de: 1, moins_de: 5, jusqu_a: 5, montant: 3}\n",
            "une tranche finit par « moins_de » ou par « jusqu_a », pas les deux",
        ),
    ],
)
def test_gaps_and_overlaps_are_refused_in_both_conventions(tranches: str, message: str) -> None:
    assert _refus(_bareme(tranches)).message == message


GRILLE = """\
    colonnes:
      fait: taille_foyer
      classes:
        - {jusqu_a: 2, libelle: petit}
        - {plus_de: 2, libelle: grand}
"""


def test_a_two_entry_grid_reads_the_row_and_the_column() -> None:
    tranches = (
        "          - {jusqu_a: 500, montants: [100, 150], libelle: A}\n"
        "          - {plus_de: 500, montants: [50, 80], libelle: B}\n"
    )
    resultat = _un(
        _bareme(tranches, GRILLE), beneficiaire_rsa=True, quotient_familial_caf=600, allocataires=["1980"],
        enfants=["2010", "2012"],
    )  # fmt: skip
    assert (resultat.montant, resultat.tranche) == (Decimal(80), "B")
    assert (
        "colonne grand pour le nombre de personnes du foyer (allocataires et enfants) de 3" in resultat.motif
    )


def test_a_grid_row_gives_one_amount_per_column() -> None:
    tranches = "          - {montants: [100], libelle: A}\n"
    assert _refus(_bareme(tranches, GRILLE)).message == "1 montants pour 2 colonnes : un montant par colonne"


def test_an_unknown_fact_takes_the_tranche_the_bareme_names() -> None:
    tranches = (
        "          - {moins_de: 500, montant: 3, libelle: réduit}\n"
        "          - {de: 500, montant: 9, libelle: plein}\n"
    )
    resultat = _un(_bareme(tranches, "    si_inconnu: {tranche: plein}\n"), beneficiaire_rsa=True)
    assert (resultat.statut, resultat.montant, resultat.tranche) == (Statut.ELIGIBLE, Decimal(9), "plein")
    assert "le quotient familial CAF/MSA étant inconnu, tranche prévue par le règlement" in resultat.motif


# -- first-hit decision tables -----------------------------------------------------------------------

TABLE = """\
tables:
  t:
    libelle: tarif T
    lignes:
      - {si: {beneficiaire_rsa: true}, montant: 0.5, libelle: solidaire}
      - si: {quotient_familial_caf: {"<": 400}, statut_occupation_logement: [locataire, heberge]}
        montant: 1
        libelle: A
      - {si: autre, montant: 3, libelle: C}
"""


@pytest.mark.parametrize(
    ("faits", "statut", "tranche"),
    [
        ({"beneficiaire_rsa": True}, Statut.ELIGIBLE, "solidaire"),  # the first row decides: QF not needed
        (
            {
                "beneficiaire_rsa": False,
                "quotient_familial_caf": 300,
                "statut_occupation_logement": "heberge",
            },
            Statut.ELIGIBLE,
            "A",
        ),
        (
            {
                "beneficiaire_rsa": False,
                "quotient_familial_caf": 300,
                "statut_occupation_logement": "proprietaire",
            },
            Statut.ELIGIBLE,
            "C",
        ),
        ({"beneficiaire_rsa": False}, Statut.A_VERIFIER, None),  # row 2 cannot be decided
    ],
)
def test_the_first_row_that_holds_decides(faits: dict[str, Any], statut: Statut, tranche: str | None) -> None:
    resultat = _un(
        TABLE + _aide("{table: t}", "[{fait: nombre_de_parts, operateur: '>=', valeur: 0}]"),
        nombre_de_parts=1,
        **faits,
    )
    assert (resultat.statut, resultat.tranche) == (statut, tranche)


def test_a_table_explains_the_row_that_decided() -> None:
    resultat = _un(TABLE + _aide("{table: t}"), beneficiaire_rsa=True)
    assert resultat.motif.endswith(
        "Montant : 0,50 € (ligne 1 de la table « tarif T » : le bénéfice du RSA (oui) vaut oui)."
    )


@pytest.mark.parametrize(
    ("lignes", "message"),
    [
        (
            "      - {si: {beneficiaire_rsa: true}, montant: 1}\n",
            "la table « t » : la dernière ligne est « si: autre » (sinon, des cas sans réponse)",
        ),
        (
            "      - {si: autre, montant: 1}\n      - {si: {beneficiaire_rsa: true}, montant: 2}\n",
            "la table « t » : ligne jamais atteinte, après la ligne « autre »",
        ),
        (
            "      - {si: {beneficiaire_rsa: 3}, montant: 1}\n      - {si: autre, montant: 1}\n",
            "incompatibilité de type : le fait « beneficiaire_rsa » se compare à true ou false",
        ),
    ],
)
def test_a_faulty_table_is_refused(lignes: str, message: str) -> None:
    texte = "tables:\n  t:\n    libelle: T\n    lignes:\n" + lignes + _aide("{table: t}")
    assert _refus(texte).message == message


# -- unknown data in a condition ---------------------------------------------------------------------


def _condition(extra: str) -> str:
    return (
        "dispositifs:\n  - id: aide\n    libelle: Aide\n    conditions:\n"
        f"      - {{fait: quotient_familial_caf, operateur: '<=', valeur: 900{extra}}}\n"
    )


def test_an_unknown_fact_may_fail_the_condition_as_the_reglement_says() -> None:
    resultat = _un(_condition(", si_inconnu: non_remplie"))
    assert resultat.statut is Statut.NON_ELIGIBLE
    assert resultat.pieces_justificatives == ()
    assert resultat.conditions[0].explication == (
        "Impossible d'établir le quotient familial CAF/MSA (donnée non fournie) : condition non remplie, "
        "comme le prévoit le règlement quand la donnée est inconnue."
    )


def test_an_unknown_fact_may_take_a_default_value() -> None:
    resultat = _un(_condition(", si_inconnu: {valeur: 2000}"))
    assert resultat.statut is Statut.NON_ELIGIBLE
    assert resultat.conditions[0].explication == (
        "Impossible d'établir le quotient familial CAF/MSA (donnée non fournie) ; le règlement retient alors "
        "2 000 €, qui n'est pas inférieur ou égal à 900 € : condition non remplie."
    )


def test_under_a_non_the_unknown_data_policy_follows_the_condition() -> None:
    texte = (
        "dispositifs:\n  - id: aide\n    libelle: Aide\n    conditions:\n"
        "      - non: {fait: beneficiaire_rsa, operateur: '==', valeur: true, si_inconnu: non_remplie}\n"
    )
    # RSA unknown: « bénéficiaire du RSA » taken as false, so « not on the RSA » holds.
    assert _un(texte).statut is Statut.ELIGIBLE


def test_a_declared_date_is_compared_with_a_date() -> None:
    texte = (
        "faits_declares:\n  entree_logement: {libelle: la date d'entrée dans le logement, type: date, "
        "piece: bail}\n"
        "dispositifs:\n  - id: aide\n    libelle: Aide\n    conditions:\n"
        "      - {fait: entree_logement, operateur: '<', valeur: 2021-01-01}\n"
    )
    avant = _un(texte, entree_logement="2020-03-03")
    assert avant.statut is Statut.ELIGIBLE
    assert avant.conditions[0].explication == (
        "La date d'entrée dans le logement (3 mars 2020, supposé pour la simulation, non certifié) est "
        "antérieure au 1er janvier 2021 : condition remplie."
    )
    assert _un(texte, entree_logement="2021-01-01").statut is Statut.NON_ELIGIBLE
    # Known to the month only: December 2020 is before, January 2021 is not; 2020 as a year is.
    assert _un(texte, entree_logement="2020-12").statut is Statut.ELIGIBLE
    assert _un(texte, entree_logement="2021-01").statut is Statut.NON_ELIGIBLE
    assert _un(texte.replace("2021-01-01", "2020-06-15"), entree_logement="2020").statut is Statut.A_VERIFIER
    refus = _refus(texte.replace("valeur: 2021-01-01", "valeur: 3"))
    assert (
        refus.message
        == "incompatibilité de type : le fait « entree_logement » est une date, comparez-le à une date"
    )


_FORMULES = (
    "min(40 + 2.5 * a + 0.5 * b, 400) + max(b, 30 * c) / 3",
    "(a - b) / c / 30",
    "200 - a / 10",
    "a * (b - c) / (c + 1)",
)


@given(
    formule=st.sampled_from(_FORMULES),
    valeurs=st.lists(
        st.one_of(
            st.integers(-50, 50),
            st.decimals(-1000, 1000, places=2, allow_nan=False, allow_infinity=False),
            st.fractions(-100, 100, max_denominator=7),
        ),
        min_size=3,
        max_size=3,
    ),
)
def test_a_formula_on_exact_values_gives_what_it_gives_on_intervals(formule: str, valeurs: list[Any]) -> None:
    """`ponctuel` is `compiler` with every name's interval a single value: the same value, the same
    failure on a division by zero; and a name whose interval is not one value is refused."""
    expression = lire_formule(formule)
    par_nom = dict(zip("abc", valeurs, strict=True))

    def valeur_de(nom: Nom) -> tuple[Any, Any]:
        return par_nom[nom.nom], par_nom[nom.nom]

    try:
        attendu: Any = compiler(expression)(valeur_de)
    except Incalculable as exc:
        attendu = str(exc)
    try:
        exacte = ponctuel(expression)(valeur_de)
        obtenu: Any = (exacte, exacte)
    except Incalculable as exc:
        obtenu = str(exc)
    assert obtenu == attendu
    assert type(obtenu) is type(attendu)
    with pytest.raises(NonPonctuel):
        ponctuel(expression)(lambda nom: (Decimal(1), Decimal(2)))


def test_a_formula_template_writes_what_the_formula_reads() -> None:
    """`Rendu.gabarit` leaves the names in place of their texts: filled in, it is `rendre`."""
    expression = lire_formule("min(40 + 2.5 * a + 0.5 * b, 400) + max(b, 30 * c) / 3")
    rendu = Rendu(
        lambda nom: f"<{nom.nom}>", lambda nom: "€" if nom.nom == "b" else None, lambda v, u: f"{v}{u}"
    )
    gabarit = rendu.gabarit(expression, "€")
    # As the recursive writer gave it before templates ("None": a number written without unit).
    assert rendu.rendre(expression, "€") == (
        "minimum(40€ + 2.5€ × <a> + 0.5None × <b>, 400€) + maximum(<b>, 30€ × <c>) / 3None"
    )
    assert [m.nom for m in gabarit if isinstance(m, Nom)] == ["a", "b", "b", "c"]
    assert not any(isinstance(m, str) and isinstance(n, str) for m, n in itertools.pairwise(gabarit))
