"""Local checks of contract §2.1 and the query they produce, by example and by property."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from app.schemas.demandeur import Demandeur
from app.services.amont.api_particulier import params
from app.services.organismes import siret_valide

from .conftest import make_demandeur

TODAY = date(2026, 11, 26)
NOM = st.from_regex(r"[A-Za-zÀ-ÖØ-öø-ÿ][A-Za-zÀ-ÖØ-öø-ÿ' \-]{0,20}[A-Za-zÀ-ÖØ-öø-ÿ]?", fullmatch=True)
COMMUNE = st.from_regex(r"([013-9][0-9]|2[AB1-9])[0-9]{3}", fullmatch=True)
PAYS_ETRANGER = st.from_regex(r"99(1[0-9][1-9]|[2-5][0-9][0-9])", fullmatch=True)
DEPARTEMENT = st.sampled_from(["01", "08", "2A", "2B", "75", "95", "971", "974", "976"])


def luhn_digit(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


@st.composite
def sirets(draw: st.DrawFn) -> str:
    siren = draw(st.from_regex(r"[0-9]{8}", fullmatch=True))
    siren += luhn_digit(siren)
    body = siren + draw(st.from_regex(r"[0-9]{4}", fullmatch=True))
    return body + luhn_digit(body)


@given(sirets())
def test_checksum_valid_siret_is_accepted(siret: str) -> None:
    assert siret_valide(siret)
    assert params.erreurs_recipient(siret) == []


@given(sirets(), st.integers(0, 13), st.integers(1, 9))
def test_one_wrong_digit_is_refused(siret: str, position: int, shift: int) -> None:
    wrong = siret[:position] + str((int(siret[position]) + shift) % 10) + siret[position + 1 :]
    assume(not wrong.startswith("356000000"))
    assert not siret_valide(wrong)
    [error] = params.erreurs_recipient(wrong)
    assert error.champ == "recipient"
    assert wrong not in error.message


@given(st.from_regex(r"[0-9]{5}", fullmatch=True))
def test_la_poste_sirets_are_accepted(suffix: str) -> None:
    assert siret_valide("356000000" + suffix)


@given(st.text(max_size=20).filter(lambda s: not (len(s) == 14 and s.isdigit())))
def test_anything_but_fourteen_digits_is_refused(value: str) -> None:
    assert not siret_valide(value)


@st.composite
def periodes(draw: st.DrawFn) -> tuple[date, int | None, int | None]:
    today = draw(st.dates(date(2020, 1, 1), date(2040, 12, 31)))
    annee = draw(st.none() | st.integers(today.year - 5, today.year + 3))
    mois = draw(st.none() | st.integers(-1, 14))
    return today, annee, mois


@given(periodes())
def test_an_accepted_period_lies_between_january_n_minus_2_and_this_month(
    case: tuple[date, int | None, int | None],
) -> None:
    today, annee, mois = case
    if params.erreurs_periode(annee, mois, today):
        return
    year = annee if annee is not None else today.year
    assert today.year - 2 <= year <= today.year
    if mois is not None:
        assert 1 <= mois <= 12
        assert (year, mois) <= (today.year, today.month)


@given(st.dates(date(2020, 1, 1), date(2040, 12, 31)), st.data())
def test_every_month_from_january_n_minus_2_to_this_month_is_accepted(
    today: date, data: st.DataObject
) -> None:
    annee = data.draw(st.integers(today.year - 2, today.year))
    last = today.month if annee == today.year else 12
    mois = data.draw(st.integers(1, last))
    assert params.erreurs_periode(annee, mois, today) == []
    assert params.erreurs_periode(annee, None, today) == []


@pytest.mark.parametrize(
    ("annee", "mois", "champs"),
    [
        (2024, None, []),
        (2023, None, ["annee"]),
        (2027, None, ["annee"]),
        (None, 11, []),
        (None, 12, ["mois"]),
        (2025, 12, []),
        (2026, 12, ["mois"]),
        (2026, 0, ["mois"]),
        (2023, 13, ["annee", "mois"]),
    ],
)
def test_periode_examples(annee: int | None, mois: int | None, champs: list[str]) -> None:
    assert [e.champ for e in params.erreurs_periode(annee, mois, TODAY)] == champs


@st.composite
def demandeurs(draw: st.DrawFn) -> Demandeur:
    naissance = draw(st.dates(date(1900, 1, 1), TODAY - timedelta(days=365)))
    precision = draw(st.sampled_from(["jour", "mois", "annee", "aucune"]))
    date_naissance = {
        "jour": naissance.isoformat(),
        "mois": naissance.isoformat()[:7],
        "annee": naissance.isoformat()[:4],
        "aucune": None,
    }[precision]
    lieu = draw(st.sampled_from(["commune", "option2", "etranger"]))
    if lieu == "option2" and date_naissance is None:
        lieu = "commune"
    fields: dict[str, Any] = {
        "nom_naissance": draw(NOM),
        "nom_usage": draw(st.none() | NOM),
        "prenoms": draw(st.lists(NOM, min_size=1, max_size=3)),
        "sexe": draw(st.sampled_from(["M", "F"])),
        "date_naissance": date_naissance,
        "code_cog_insee_pays_naissance": "99100",
    }
    if lieu == "commune":
        fields["code_cog_insee_commune_naissance"] = draw(COMMUNE)
    elif lieu == "option2":
        fields["nom_commune_naissance"] = draw(NOM)
        fields["code_cog_insee_departement_naissance"] = draw(DEPARTEMENT)
    else:
        fields["code_cog_insee_pays_naissance"] = draw(PAYS_ETRANGER)
        fields["code_cog_insee_commune_naissance"] = draw(st.none() | COMMUNE)
    return Demandeur.model_validate(fields)


@given(demandeurs())
def test_what_the_schema_accepts_the_client_accepts(demandeur: Demandeur) -> None:
    assert params.erreurs_identite(demandeur, TODAY) == []


@given(demandeurs())
def test_query_is_built_per_contract(demandeur: Demandeur) -> None:
    query = params.parametres_identite(demandeur)
    names = [name for name, _ in query]
    values = dict(query)

    assert all(value.strip() for _, value in query)
    assert [v for n, v in query if n == "prenoms[]"] == demandeur.prenoms
    assert values["sexeEtatCivil"] == demandeur.sexe
    assert values["codeCogInseePaysNaissance"] == demandeur.code_cog_insee_pays_naissance
    assert ("nomUsage" in values) == bool(demandeur.nom_usage)
    # only the known parts of the birth date, as integers without leading zeros
    naissance = demandeur.date_naissance_partielle
    expected = {}
    if naissance is not None:
        expected["anneeDateNaissance"] = str(naissance.annee)
        if naissance.mois is not None:
            expected["moisDateNaissance"] = str(naissance.mois)
        if naissance.jour is not None:
            expected["jourDateNaissance"] = str(naissance.jour)
    assert {n: v for n, v in values.items() if n.endswith("DateNaissance")} == expected
    # birth place: commune only for people born in France, option 2 only without a commune code
    born_in_france = demandeur.code_cog_insee_pays_naissance == "99100"
    assert ("codeCogInseeCommuneNaissance" in values) == (
        born_in_france and demandeur.code_cog_insee_commune_naissance is not None
    )
    option_2 = born_in_france and "codeCogInseeCommuneNaissance" not in values
    assert ("nomCommuneNaissance" in values) == option_2
    assert ("codeCogInseeDepartementNaissance" in values) == option_2
    assert len(names) == len(set(names)) + max(len(demandeur.prenoms) - 1, 0)


@pytest.mark.parametrize(
    ("update", "champ"),
    [
        ({"nom_naissance": "DUPONT2"}, "demandeur.nom_naissance"),
        ({"nom_naissance": "  "}, "demandeur.nom_naissance"),
        ({"prenoms": []}, "demandeur.prenoms"),
        ({"prenoms": ["A", "B", "C", "D"]}, "demandeur.prenoms"),
        ({"prenoms": ["JEAN", "PAUL_2"]}, "demandeur.prenoms.1"),
        ({"sexe": "X"}, "demandeur.sexe"),
        ({"date_naissance": "1899-12-31"}, "demandeur.date_naissance"),
        ({"date_naissance": "2026-11-26"}, "demandeur.date_naissance"),
        ({"date_naissance": "1982-02-30"}, "demandeur.date_naissance"),
        ({"code_cog_insee_pays_naissance": "99AB0"}, "demandeur.code_cog_insee_pays_naissance"),
        ({"code_cog_insee_commune_naissance": "20001"}, "demandeur.code_cog_insee_commune_naissance"),
        ({"code_cog_insee_commune_naissance": None}, "demandeur.code_cog_insee_commune_naissance"),
        (
            {
                "code_cog_insee_commune_naissance": None,
                "nom_commune_naissance": "Sedan",
                "code_cog_insee_departement_naissance": "96",
            },
            "demandeur.code_cog_insee_departement_naissance",
        ),
    ],
)
def test_identity_rules_the_schema_may_not_have_enforced(update: dict[str, Any], champ: str) -> None:
    """A `Demandeur` built without validation (or validated another day) is still checked."""
    demandeur = make_demandeur().model_copy(update=update)
    errors = params.erreurs_identite(demandeur, TODAY)
    assert champ in [e.champ for e in errors]
    for error in errors:
        for value in update.values():
            if isinstance(value, str) and value.strip():
                assert value not in error.message


@pytest.mark.parametrize(
    "update",
    [
        {"code_cog_insee_pays_naissance": "9920\u0660"},
        {"code_cog_insee_commune_naissance": "0848\u0660"},
    ],
)
def test_digits_of_other_scripts_are_refused(update: dict[str, Any]) -> None:
    """Python's `\\d` matches "٠" (Arabic-Indic zero); the provider does not."""
    assert params.erreurs_identite(make_demandeur().model_copy(update=update), TODAY) != []


def test_today_is_the_injected_clock_not_the_machine_clock() -> None:
    demandeur = make_demandeur(date_naissance="2020-05-01")
    assert params.erreurs_identite(demandeur, date(2020, 5, 2)) == []
    assert params.erreurs_identite(demandeur, date(2020, 5, 1)) != []
