"""Every foyer and every error of the simulator, through the real client (table-driven)."""

from __future__ import annotations

from collections.abc import Coroutine
from decimal import Decimal
from typing import Any

import pytest

from app.errors import (
    UpstreamError,
    UpstreamMisconfigured,
    UpstreamPersonNotFound,
    UpstreamRejectedInput,
    UpstreamUnavailable,
)
from app.services.amont.impot_particulier import ImpotParticulierClient, ReponseImpot, faits_impot
from app.simulators.impot_particulier.foyers import foyers_par_defaut

# spi → (year served by "deux ans", rfr, parts, sitFam, personnes à charge, impôt or None)
FOYERS: dict[str, tuple[int, str, str, str, int, str | None]] = {
    "3999999898230": (2024, "48583", "2.0", "M", 0, "2982"),
    "3999999899410": (2024, "48583", "2", "M", 0, None),
    "3999999776202": (2024, "36705", "1", "C", 0, "3511"),
    "3999999889221": (2024, "23055", "1", "V", 0, "612"),
    "3999999110464": (2024, "33640", "6.75", "O", 5, "-36"),
    "3999999101455": (2024, "21340", "1", "C", 0, "1187"),
    "3999999102456": (2024, "52410", "2.0", "M", 0, "4102"),
    "3999999103457": (2024, "19850", "2.5", "D", 2, "0"),
    "3999999104458": (2024, "61230", "4", "M", 3, "2210"),
    "3999999105459": (2024, "9120", "1", "C", 0, "0"),
    "3999999106460": (2024, "18400", "1", "V", 0, "-450"),
    "3999999107461": (2024, "14100", "1.0", "V", 0, "0"),
    "3999999108462": (2023, "38900", "2", "O", 0, "1630"),  # N-1 not taxed yet: falls back
    "3999999130484": (2024, "24000", "4.5", "C", 4, "0"),  # DUPONT SOPHIE, as in API Particulier's sandbox
}

# spi → (exception, upstream code, Retry-After)
ERREURS: dict[str, tuple[type[UpstreamError], str, int | None]] = {
    "3999999111465": (UpstreamRejectedInput, "4001", None),
    "3999999112466": (UpstreamRejectedInput, "400", None),
    "3999999113467": (UpstreamRejectedInput, "4002", None),
    "3999999114468": (UpstreamMisconfigured, "4031", None),
    "3999999115469": (UpstreamPersonNotFound, "4101", None),
    "3999999116470": (UpstreamPersonNotFound, "4102", None),
    "3999999117471": (UpstreamPersonNotFound, "204", None),
    "3999999118472": (UpstreamUnavailable, "5000", None),
    "3999999119473": (UpstreamPersonNotFound, "404", None),
    "3999999120474": (UpstreamUnavailable, "503", 120),
    "3999999121475": (UpstreamPersonNotFound, "4102", None),  # valid key, unknown to DGFiP
}


def test_the_tables_cover_every_foyer_of_the_simulator() -> None:
    assert set(foyers_par_defaut()) == set(FOYERS) | (set(ERREURS) - {"3999999121475"})


@pytest.mark.parametrize("spi", sorted(FOYERS))
async def test_deux_ans_gives_the_facts_of_each_foyer(sim_client: ImpotParticulierClient, spi: str) -> None:
    annee, rfr, parts, sitfam, pac, impot = FOYERS[spi]
    reponse = await sim_client.derniere_situation_deux_ans(spi)
    faits = faits_impot(reponse)
    assert reponse.annee_des_revenus == annee
    assert faits["revenu_fiscal_de_reference"].valeur == Decimal(rfr)
    assert str(faits["nombre_de_parts"].valeur) == parts  # exact text, never through a float
    assert faits["situation_familiale"].valeur == sitfam
    assert faits["nombre_personnes_a_charge"].valeur == pac
    if impot is None:
        assert "impot_sur_le_revenu" not in faits
    else:
        assert faits["impot_sur_le_revenu"].valeur == Decimal(impot)
    source = faits["revenu_fiscal_de_reference"].source
    assert (source.fournisseur, source.certifie, source.periode) == ("DGFIP", True, str(annee))
    assert source.request_id == reponse.request_id


@pytest.mark.parametrize("spi", sorted(FOYERS))
async def test_assiettes_and_derniere_situation_for_the_previous_year(
    sim_client: ImpotParticulierClient, spi: str
) -> None:
    for call in (sim_client.assiettes_ir, sim_client.derniere_situation):
        reponse = await call(spi, 2023)
        assert reponse.annee_des_revenus == 2023
        assert reponse.situation.revenu_fiscal_de_reference is not None


@pytest.mark.parametrize("spi", sorted(ERREURS))
async def test_each_error_is_mapped(sim_client: ImpotParticulierClient, spi: str) -> None:
    exception, code, retry_after = ERREURS[spi]
    calls: list[Coroutine[Any, Any, ReponseImpot]] = [
        sim_client.assiettes_ir(spi, 2024),
        sim_client.derniere_situation(spi, 2024),
        sim_client.derniere_situation_deux_ans(spi),
    ]
    for call in calls:
        with pytest.raises(UpstreamError) as caught:
            await call
        assert type(caught.value) is exception
        assert caught.value.upstream_code == code
        assert caught.value.retry_after == retry_after
        assert caught.value.fournisseur == "API Impôt particulier"
        assert spi not in str(caught.value)


async def test_year_defaults_to_the_newest_taxed_year(sim_client: ImpotParticulierClient) -> None:
    reponse = await sim_client.assiettes_ir("3999999101455")
    assert reponse.annee_des_revenus == 2024


async def test_n_minus_1_not_taxed_is_not_found_by_year(sim_client: ImpotParticulierClient) -> None:
    with pytest.raises(UpstreamPersonNotFound) as caught:
        await sim_client.assiettes_ir("3999999108462", 2024)
    assert "2024" in caught.value.detail


async def test_death_year_assiettes_refused_derniere_situation_gives_last_period(
    sim_client: ImpotParticulierClient,
) -> None:
    with pytest.raises(UpstreamPersonNotFound):
        await sim_client.assiettes_ir("3999999107461", 2024)
    apres = await sim_client.derniere_situation("3999999107461", 2024)
    assert apres.situation.situation_familiale == "V"
    assert len(apres.situation.declarants) == 1
    avant = await sim_client.assiettes_ir("3999999107461", 2023)
    assert avant.situation.situation_familiale == "M"
    assert len(avant.situation.declarants) == 2


async def test_year_outside_the_served_window_is_not_found(
    sim_client: ImpotParticulierClient,
) -> None:
    with pytest.raises(UpstreamPersonNotFound):
        await sim_client.assiettes_ir("3999999101455", 2019)
