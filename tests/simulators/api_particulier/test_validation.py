"""SIADE's parameter rules (contract §2.1): one test per rule, accumulated errors, matching details."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.simulators.api_particulier.catalogue import ENDPOINTS_BY_PATH
from app.simulators.api_particulier.validation import Requete, recipient_valide, valider_identite

from .conftest import LUNDI, NOMINAL, QF, RECIPIENT, RSA, Factory, Params, codes, query

OPTION_2 = query(
    codeCogInseeCommuneNaissance=None,
    nomCommuneNaissance="CHARLEVILLE-MEZIERES",
    codeCogInseeDepartementNaissance="08",
)


@pytest.mark.parametrize(
    ("changes", "code", "parameter"),
    [
        ({"recipient": None}, "00210", "recipient"),
        ({"recipient": "13002526500014"}, "00210", "recipient"),  # Luhn key wrong
        ({"recipient": "1300252650001"}, "00210", "recipient"),  # 13 digits
        ({"nomNaissance": None}, "00420", "nomNaissance"),
        ({"nomNaissance": "LEFEBVRE2"}, "00420", "nomNaissance"),
        ({"nomNaissance": "LE_FEBVRE"}, "00420", "nomNaissance"),
        ({"anneeDateNaissance": "19a2"}, "00363", "anneeDateNaissance"),
        ({"anneeDateNaissance": "0"}, "00363", "anneeDateNaissance"),
        ({"moisDateNaissance": "13"}, "00363", "anneeDateNaissance"),
        ({"jourDateNaissance": "32"}, "00363", "anneeDateNaissance"),
        ({"moisDateNaissance": "2", "jourDateNaissance": "30"}, "00363", "anneeDateNaissance"),
        ({"anneeDateNaissance": "1899"}, "00363", "anneeDateNaissance"),
        (
            {"anneeDateNaissance": "2026", "moisDateNaissance": "6", "jourDateNaissance": "15"},
            "00363",
            "anneeDateNaissance",
        ),
        ({"moisDateNaissance": None}, "00363", "anneeDateNaissance"),  # a day without a month
        ({"sexeEtatCivil": None}, "00427", "sexeEtatCivil"),
        ({"sexeEtatCivil": "X"}, "00427", "sexeEtatCivil"),
        ({"codeCogInseePaysNaissance": None}, "00400", "codeCogInseePaysNaissance"),
        ({"codeCogInseePaysNaissance": "9910"}, "00400", "codeCogInseePaysNaissance"),
        ({"codeCogInseePaysNaissance": "10100"}, "00400", "codeCogInseePaysNaissance"),
        ({"codeCogInseeCommuneNaissance": "2C480"}, "00365", "codeCogInseeCommuneNaissance"),
        ({"codeCogInseeCommuneNaissance": "0848"}, "00365", "codeCogInseeCommuneNaissance"),
        ({"codeCogInseeCommuneNaissance": None}, "00365", "codeCogInseeCommuneNaissance"),
        ({"annee": "26"}, "00353", "annee"),
        ({"annee": "2023"}, "00356", "annee"),  # N-3 in 2026
        ({"annee": "2027"}, "00356", "annee"),
        ({"mois": "13"}, "00354", "mois"),
        ({"mois": "7"}, "00354", "mois"),  # July 2026, still in the future on 15 June 2026
        ({"annee": "2026", "mois": "7"}, "00354", "mois"),
    ],
)
async def test_each_rule_has_its_code(
    client: httpx.AsyncClient, changes: dict[str, str | None], code: str, parameter: str
) -> None:
    response = await client.get(QF, params=query(**changes))
    assert response.status_code == 422
    assert response.json() == {
        "errors": [
            {
                "code": code,
                "title": "Entité non traitable",
                "detail": response.json()["errors"][0]["detail"],
                "source": {"parameter": parameter},
                "meta": {},
            }
        ]
    }
    assert response.json()["errors"][0]["detail"]


async def test_prenoms_without_brackets_is_refused(client: httpx.AsyncClient) -> None:
    """`prenoms=X` is a string for Rails, not the `prenoms[]` array SIADE expects."""
    params: Params = [(k, v) for k, v in NOMINAL if k != "prenoms[]"] + [("prenoms", "ALEXIS")]
    assert codes(await client.get(QF, params=params)) == ["00367"]


async def test_invalid_prenom_characters(client: httpx.AsyncClient) -> None:
    params: Params = [(k, v) for k, v in NOMINAL if k != "prenoms[]"] + [
        ("prenoms[]", "ALEXIS"),
        ("prenoms[]", "G3RÔME"),
    ]
    assert codes(await client.get(QF, params=params)) == ["00367"]


async def test_department_of_option_2_is_checked(client: httpx.AsyncClient) -> None:
    response = await client.get(QF, params=query(OPTION_2, codeCogInseeDepartementNaissance="99"))
    assert codes(response) == ["00428"]


async def test_option_2_birth_place_is_accepted(client: httpx.AsyncClient) -> None:
    """No COG table in the simulator: a valid option-2 call is accepted and finds no case (404)."""
    response = await client.get(QF, params=OPTION_2)
    assert response.status_code == 404
    assert codes(response) == ["37003"]


async def test_option_2_needs_the_birth_year(client: httpx.AsyncClient) -> None:
    params = query(OPTION_2, anneeDateNaissance=None, moisDateNaissance=None, jourDateNaissance=None)
    assert codes(await client.get(QF, params=params)) == ["00365"]


async def test_errors_are_accumulated_in_one_body(client: httpx.AsyncClient) -> None:
    params = query(recipient="123", annee="2020", sexeEtatCivil=None, codeCogInseeCommuneNaissance="XXXXX")
    response = await client.get(QF, params=params)
    assert response.status_code == 422
    assert codes(response) == ["00210", "00356", "00427", "00365"]


@pytest.mark.parametrize(
    "changes",
    [
        {"recipient": "35600000012345"},  # La Poste: no Luhn key
        {"sexeEtatCivil": "f"},
        {"annee": "2024", "mois": "12"},  # N-2, any month of a past year
        {"annee": "2026", "mois": "6"},
        {"codeCogInseeCommuneNaissance": "08480", "foo": "ignoré"},  # unknown parameters are not read
    ],
)
async def test_accepted_variants_find_the_person(client: httpx.AsyncClient, changes: dict[str, str]) -> None:
    response = await client.get(QF, params=query(**changes))
    assert response.status_code == 200
    assert response.json()["data"]["quotient_familial"]["valeur"] == 2550


async def test_matching_is_case_insensitive(client: httpx.AsyncClient) -> None:
    params: Params = [(k, str(v).lower()) for k, v in NOMINAL]
    response = await client.get(QF, params=params)
    assert response.status_code == 200
    assert response.json()["data"]["allocataires"][0]["nom_naissance"] == "LEFEBVRE"


async def test_an_extra_parameter_is_no_match(client: httpx.AsyncClient) -> None:
    response = await client.get(QF, params=query(nomUsage="MARTIN"))
    assert response.status_code == 404
    assert codes(response) == ["37003"]


async def test_a_missing_parameter_is_no_match(client: httpx.AsyncClient) -> None:
    response = await client.get(QF, params=query(jourDateNaissance=None))
    assert response.status_code == 404


async def test_the_prenoms_order_matters(client: httpx.AsyncClient) -> None:
    params: Params = [(k, v) for k, v in NOMINAL if k != "prenoms[]"]
    params += [("prenoms[]", "GÉRÔME"), ("prenoms[]", "ALEXIS"), ("prenoms[]", "JEAN-PHILIPPE")]
    assert (await client.get(QF, params=params)).status_code == 404


async def test_commune_is_dropped_for_people_born_abroad(client: httpx.AsyncClient) -> None:
    params: Params = [
        ("recipient", RECIPIENT),
        ("nomNaissance", "FAKIR"),
        ("prenoms[]", "EYMEN"),
        ("prenoms[]", "MOHAMED"),
        ("anneeDateNaissance", "1992"),
        ("moisDateNaissance", "11"),
        ("jourDateNaissance", "14"),
        ("sexeEtatCivil", "M"),
        ("codeCogInseePaysNaissance", "99350"),
        ("codeCogInseeCommuneNaissance", "08480"),
    ]
    response = await client.get(QF, params=params)
    assert response.status_code == 200
    assert response.json()["data"]["quotient_familial"]["valeur"] == 4270


async def test_period_parameters_are_ignored_outside_the_quotient_familial(make_client: Factory) -> None:
    params: Params = [
        ("recipient", RECIPIENT),
        ("nomNaissance", "MARTIN"),
        ("prenoms[]", "SAMUEL"),
        ("anneeDateNaissance", "1980"),
        ("moisDateNaissance", "9"),
        ("jourDateNaissance", "20"),
        ("sexeEtatCivil", "M"),
        ("codeCogInseePaysNaissance", "99100"),
        ("codeCogInseeCommuneNaissance", "08480"),
        ("annee", "1990"),
    ]
    response = await make_client().get(RSA, params=params)
    assert response.status_code == 200
    assert response.json()["data"]["est_beneficiaire"] is True


@given(st.from_regex(r"^[0-9]{14}$", fullmatch=True) | st.from_regex(r"^356000000[0-9]{5}$", fullmatch=True))
def test_recipient_is_a_luhn_siret_or_la_poste(value: str) -> None:
    """python-stdnum: the SIREN (first 9 digits) and the whole SIRET both carry a Luhn key."""
    assert recipient_valide(value) == ((_luhn(value) and _luhn(value[:9])) or value.startswith("356000000"))


def _luhn(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        doubled = int(digit) * (2 if position % 2 else 1)
        total += doubled // 10 + doubled % 10
    return total % 10 == 0


def test_other_scripts_digits_are_refused() -> None:
    assert not recipient_valide("١٣٠٠٢٥٢٦٥٠٠٠١٣")


@given(st.dates(min_value=date(1800, 1, 1), max_value=date(2100, 12, 31)))
def test_full_birth_date_must_lie_between_1900_and_yesterday(naissance: date) -> None:
    today = LUNDI.date()
    items = [(k, str(v)) for k, v in NOMINAL if not k.endswith("DateNaissance")]
    items += [
        ("anneeDateNaissance", str(naissance.year)),
        ("moisDateNaissance", str(naissance.month)),
        ("jourDateNaissance", str(naissance.day)),
    ]
    errors = [e["code"] for e in valider_identite(Requete(items), ENDPOINTS_BY_PATH[QF], today).errors]
    expected_valid = date(1900, 1, 1) <= naissance <= today - timedelta(days=1)
    assert errors == ([] if expected_valid else ["00363"])
