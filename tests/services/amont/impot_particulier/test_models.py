"""Tolerant parsing of the IR answers: both address spellings, date formats, nulls and absences."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.rules.dates import DatePartielle
from app.services.amont.impot_particulier.models import separer_code_postal
from tests.services.amont.impot_particulier.exemples import CIS_QUATORZE, DUBIGNOT, situation


def test_recorded_sandbox_answer() -> None:
    s = situation(CIS_QUATORZE)
    assert s.annee_des_revenus == 2021
    assert s.revenu_fiscal_de_reference == Decimal(48583)
    assert s.nombre_de_parts == Decimal("2.0")
    assert s.nombre_personnes_a_charge == 0
    assert s.impot_avant_imputations is None
    assert s.date_mise_en_recouvrement == date(2022, 7, 31)
    assert [d.nom_naissance for d in s.declarants] == ["CIS QUATORZE", "CIS TRENTEHUIT"]
    assert s.declarants[1].date_naissance == DatePartielle(1973, 2, 10)


def test_single_declarant_with_null_second_one() -> None:
    s = situation(DUBIGNOT)
    assert len(s.declarants) == 1
    assert s.declarants[0].date_naissance is None
    assert s.adresse_fiscale is None


@pytest.mark.parametrize(
    "detail",
    [
        {"voie": "1 RUE A", "commune": "CEDEX 9", "codePostal": "75001 PARIS"},
        {"voie": "1 RUE A", "getcommune": "CEDEX 9", "getcodePostal": "75001 PARIS"},
    ],
)
def test_both_address_spellings(detail: dict[str, str]) -> None:
    parsed = situation({"aftDetail": detail}).adresse_fiscale_detail
    assert parsed is not None
    assert (parsed.voie, parsed.commune, parsed.code_postal) == ("1 RUE A", "CEDEX 9", "75001 PARIS")


def test_wire_spelling_wins_when_both_are_sent() -> None:
    parsed = situation({"aftDetail": {"codePostal": "75001 PARIS", "getcodePostal": "string"}})
    assert parsed.adresse_fiscale_detail is not None
    assert parsed.adresse_fiscale_detail.code_postal == "75001 PARIS"


@pytest.mark.parametrize("text", ["2022-07-31", "31/07/2022", "20220731", "2022-07-31T00:00:00"])
def test_recovery_date_formats(text: str) -> None:
    assert situation({"datRec": text}).date_mise_en_recouvrement == date(2022, 7, 31)


@pytest.mark.parametrize("text", ["", "  ", "31 juillet", "2022-13-01"])
def test_unreadable_dates_are_dropped_not_fatal(text: str) -> None:
    assert situation({"datRec": text, "rfr": 1}).date_mise_en_recouvrement is None


def test_everything_absent_is_accepted() -> None:
    s = situation({})
    assert s.revenu_fiscal_de_reference is None
    assert s.declarants == ()


def test_unknown_and_obsolete_keys_are_ignored() -> None:
    s = situation({"rfr": 1, "metaInfo": {"uuid": "x"}, "Donnéeslocal": [], "facture": [{"numLigne": 1}]})
    assert s.revenu_fiscal_de_reference == 1


@pytest.mark.parametrize(
    ("naissance", "attendu"),
    [
        ({"jour": "02", "mois": "08", "annee": "1973"}, DatePartielle(1973, 8, 2)),
        ({"jour": "00", "mois": "00", "annee": "1940"}, DatePartielle(1940)),
        ({"jour": 2, "mois": 8, "annee": 1973}, DatePartielle(1973, 8, 2)),
        ({"jour": None, "mois": "08", "annee": "1973"}, DatePartielle(1973, 8)),
        ({"jour": "31", "mois": "02", "annee": "1973"}, None),
        ({"annee": None}, None),
        ({"annee": "0000"}, None),
    ],
)
def test_birth_dates(naissance: dict[str, object], attendu: DatePartielle | None) -> None:
    s = situation({"nmNaiDec1": "X", "dateNaisDec1": naissance})
    assert s.declarants[0].date_naissance == attendu


def test_lower_case_family_situation_is_normalised() -> None:
    assert situation({"sitFam": "m"}).situation_familiale == "M"


@pytest.mark.parametrize(
    ("texte", "attendu"),
    [
        ("94300 VINCENNES", ("94300", "VINCENNES")),
        ("94300", ("94300", None)),
        ("VINCENNES", (None, "VINCENNES")),
        (None, (None, None)),
    ],
)
def test_separer_code_postal(texte: str | None, attendu: tuple[str | None, str | None]) -> None:
    assert separer_code_postal(texte) == attendu


def test_json_round_trip_keeps_exact_values_for_the_cache() -> None:
    s = situation(CIS_QUATORZE | {"nbPart": 6.75})  # JSON text "6.75", read as Decimal
    dumped = s.model_dump(by_alias=True, mode="json")
    assert dumped["nbPart"] == "6.75"  # text, not a float
    assert type(s).model_validate(dumped) == s
