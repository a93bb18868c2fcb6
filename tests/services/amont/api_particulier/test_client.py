"""The exact requests the client sends, what it reads back, and that bad input costs no call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from app.errors import InvalidInput, UpstreamError, UpstreamTimeout, UpstreamUnavailable
from app.rules.dates import DatePartielle
from app.schemas.demandeur import Demandeur
from app.services.amont.api_particulier import (
    AccesApiParticulier,
    ApiParticulierClient,
    PrestationAah,
    PrestationAsf,
    PrestationC2s,
    PrestationPrimeActivite,
    PrestationRsa,
    QuotientFamilial,
)

from .conftest import BASE_URL, NOW, SIRET_CCAS, TODAY, TOKEN, fixture, make_demandeur

QF_PATH = "/v3/dss/quotient_familial/identite"
ENDPOINTS = [
    ("quotient_familial", QuotientFamilial, "v3_qf_identite_200_cnaf_famille_4_enfants.json"),
    ("revenu_solidarite_active", PrestationRsa, "v3_rsa_identite_200_beneficiaire_majoration.json"),
    ("prime_activite", PrestationPrimeActivite, "v3_rsa_identite_200_beneficiaire_majoration.json"),
    ("allocation_adulte_handicape", PrestationAah, "v3_css_identite_200_avec_participation.json"),
    ("allocation_soutien_familial", PrestationAsf, "v3_css_identite_200_avec_participation.json"),
    ("complementaire_sante_solidaire", PrestationC2s, "v3_css_identite_200_avec_participation.json"),
]


@pytest.fixture
def upstream() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=True) as router:
        yield router


def query(request: httpx.Request) -> list[tuple[str, str]]:
    return sorted(request.url.params.multi_items())


@pytest.mark.parametrize(("donnee", "model", "body"), ENDPOINTS)
async def test_identite_request_is_exactly_the_contract(
    *,
    upstream: respx.MockRouter,
    client: ApiParticulierClient,
    demandeur: Demandeur,
    acces: AccesApiParticulier,
    donnee: str,
    model: type[Any],
    body: str,
) -> None:
    route = upstream.get(f"/v3/dss/{donnee}/identite").respond(200, json=fixture(body))

    reponse = await getattr(client, donnee)(demandeur, acces)

    request = route.calls.last.request
    assert request.url.path == f"/v3/dss/{donnee}/identite"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert query(request) == sorted(
        [
            ("recipient", SIRET_CCAS),
            ("nomNaissance", "LEFEBVRE"),
            ("prenoms[]", "ALEXIS"),
            ("prenoms[]", "GÉRÔME"),
            ("prenoms[]", "JEAN-PHILIPPE"),
            ("anneeDateNaissance", "1982"),
            ("moisDateNaissance", "12"),
            ("jourDateNaissance", "27"),
            ("sexeEtatCivil", "F"),
            ("codeCogInseePaysNaissance", "99100"),
            ("codeCogInseeCommuneNaissance", "08480"),
        ]
    )
    assert request.url.params.get_list("prenoms[]") == ["ALEXIS", "GÉRÔME", "JEAN-PHILIPPE"]
    assert "Cache-Control" not in request.headers
    assert isinstance(reponse.donnees, model)
    assert reponse.provenance.endpoint == f"{donnee}/identite"


@pytest.mark.parametrize(("donnee", "model", "body"), ENDPOINTS)
async def test_france_connect_sends_the_france_connect_token_and_no_identity(
    upstream: respx.MockRouter,
    client: ApiParticulierClient,
    donnee: str,
    model: type[Any],
    body: str,
) -> None:
    route = upstream.get(f"/v3/dss/{donnee}/france_connect").respond(200, json=fixture(body))

    reponse = await getattr(client, f"{donnee}_france_connect")(SecretStr("jeton-fc"), recipient=SIRET_CCAS)

    request = route.calls.last.request
    assert request.headers["Authorization"] == "Bearer jeton-fc"
    assert query(request) == [("recipient", SIRET_CCAS)]
    assert isinstance(reponse.donnees, model)
    assert reponse.provenance.endpoint == f"{donnee}/france_connect"


async def test_past_month_is_asked_with_annee_and_mois(
    upstream: respx.MockRouter, client: ApiParticulierClient, demandeur: Demandeur, acces: AccesApiParticulier
) -> None:
    route = upstream.get(QF_PATH).respond(200, json=fixture("v3_qf_identite_200_cnaf_famille_4_enfants.json"))

    await client.quotient_familial(demandeur, acces, annee=2025, mois=12)

    params = route.calls.last.request.url.params
    assert (params["annee"], params["mois"]) == ("2025", "12")


async def test_france_connect_past_month(upstream: respx.MockRouter, client: ApiParticulierClient) -> None:
    route = upstream.get("/v3/dss/quotient_familial/france_connect").respond(
        200, json=fixture("v3_qf_france_connect_200_date_naissance_partielle.json")
    )

    await client.quotient_familial_france_connect(
        SecretStr("jeton-fc"), recipient=SIRET_CCAS, annee=2026, mois=3
    )

    assert query(route.calls.last.request) == [
        ("annee", "2026"),
        ("mois", "3"),
        ("recipient", SIRET_CCAS),
    ]


@pytest.mark.parametrize(
    ("overrides", "expected", "absent"),
    [
        pytest.param(
            {"date_naissance": "1982"},
            [("anneeDateNaissance", "1982")],
            ["moisDateNaissance", "jourDateNaissance"],
            id="year-only",
        ),
        pytest.param(
            {"date_naissance": "1987-06"},
            [("anneeDateNaissance", "1987"), ("moisDateNaissance", "6")],
            ["jourDateNaissance"],
            id="year-month-as-integers",
        ),
        pytest.param(
            {
                "code_cog_insee_pays_naissance": "99127",
                "code_cog_insee_commune_naissance": None,
                "date_naissance": None,
            },
            [("codeCogInseePaysNaissance", "99127")],
            ["codeCogInseeCommuneNaissance", "anneeDateNaissance", "nomCommuneNaissance"],
            id="born-abroad-no-commune-no-date",
        ),
        pytest.param(
            {
                "code_cog_insee_commune_naissance": None,
                "nom_commune_naissance": "Charleville-Mézières",
                "code_cog_insee_departement_naissance": "08",
            },
            [
                ("nomCommuneNaissance", "Charleville-Mézières"),
                ("codeCogInseeDepartementNaissance", "08"),
                ("anneeDateNaissance", "1982"),
            ],
            ["codeCogInseeCommuneNaissance"],
            id="second-birth-place-option",
        ),
        pytest.param({"nom_usage": "MARTIN"}, [("nomUsage", "MARTIN")], [], id="nom-usage-when-given"),
        pytest.param({"nom_usage": ""}, [], ["nomUsage"], id="empty-nom-usage-omitted"),
        pytest.param({"prenoms": ["ALEXIS"]}, [("prenoms[]", "ALEXIS")], [], id="one-prenom"),
    ],
)
async def test_identity_variants(
    *,
    upstream: respx.MockRouter,
    client: ApiParticulierClient,
    acces: AccesApiParticulier,
    overrides: dict[str, Any],
    expected: list[tuple[str, str]],
    absent: list[str],
) -> None:
    route = upstream.get(QF_PATH).respond(200, json=fixture("v3_qf_identite_200_cnaf_famille_4_enfants.json"))

    await client.quotient_familial(make_demandeur(**overrides), acces)

    params = route.calls.last.request.url.params
    items = params.multi_items()
    for pair in expected:
        assert pair in items
    for name in absent:
        assert name not in params
    assert "annee" not in params
    assert "mois" not in params
    assert all(value != "" for _, value in items)


async def test_an_error_answer_carries_its_ratelimit_headers(
    upstream: respx.MockRouter, client: ApiParticulierClient, demandeur: Demandeur, acces: AccesApiParticulier
) -> None:
    # A 404 spends the token's allowance like a 200: the caller must see how much is left.
    upstream.get(QF_PATH).respond(
        404,
        json={"errors": [{"code": "37003", "title": "Dossier allocataire absent", "detail": "…"}]},
        headers={"RateLimit-Limit": "20", "RateLimit-Remaining": "3", "RateLimit-Reset": "1767225601"},
    )

    with pytest.raises(UpstreamError) as erreur:
        await client.quotient_familial(demandeur, acces)

    assert erreur.value.status == 404
    assert erreur.value.ratelimit == (20, 3, 1767225601)


async def test_response_is_parsed_with_provenance_headers(
    upstream: respx.MockRouter, client: ApiParticulierClient, demandeur: Demandeur, acces: AccesApiParticulier
) -> None:
    upstream.get(QF_PATH).respond(
        200,
        json=fixture("v3_qf_identite_200_cnaf_famille_4_enfants.json"),
        headers={
            "Content-Type": "application/vnd.api+json",
            "X-Response-Cached": "true",
            "X-Cache-Expires-in": "86000",
            "RateLimit-Limit": "20",
            "RateLimit-Remaining": "19",
            "RateLimit-Reset": "1767225601",
            "X-Request-Id": "c1c4d0c2-5a3b-4d7f-9a40-2a1b7e5f9e11",
        },
    )

    reponse = await client.quotient_familial(demandeur, acces)

    p = reponse.provenance
    assert p.request_id == "c1c4d0c2-5a3b-4d7f-9a40-2a1b7e5f9e11"
    assert p.depuis_cache_fournisseur is True
    assert (p.ratelimit_limit, p.ratelimit_remaining, p.ratelimit_reset) == (20, 19, 1767225601)
    assert p.statut_http == 200
    assert p.obtenu_le == NOW
    qf = reponse.donnees.quotient_familial
    assert qf is not None
    assert (qf.fournisseur, qf.valeur, qf.annee, qf.mois) == ("CNAF", Decimal(900), 2023, 6)
    assert reponse.donnees.enfants is not None
    assert len(reponse.donnees.enfants) == 4


async def test_provenance_without_optional_headers(
    upstream: respx.MockRouter, client: ApiParticulierClient, demandeur: Demandeur, acces: AccesApiParticulier
) -> None:
    upstream.get(QF_PATH).respond(200, json=fixture("v3_qf_identite_200_scope_quotient_familial_only.json"))

    reponse = await client.quotient_familial(demandeur, acces)

    p = reponse.provenance
    assert (p.request_id, p.depuis_cache_fournisseur, p.ratelimit_limit) == (None, False, None)
    assert reponse.donnees.allocataires is None
    assert reponse.donnees.adresse is None


async def test_partial_birth_dates_are_kept_partial(
    upstream: respx.MockRouter, client: ApiParticulierClient
) -> None:
    upstream.get("/v3/dss/quotient_familial/france_connect").respond(
        200, json=fixture("v3_qf_france_connect_200_date_naissance_partielle.json")
    )

    reponse = await client.quotient_familial_france_connect(SecretStr("jeton-fc"), recipient=SIRET_CCAS)

    assert reponse.donnees.enfants is not None
    assert reponse.donnees.enfants[2].date_naissance == DatePartielle(2020)
    assert reponse.donnees.allocataires is not None
    assert reponse.donnees.allocataires[0].nom_usage == "BOBO"


@pytest.mark.parametrize(
    ("call", "champs"),
    [
        pytest.param(
            lambda c, d, a: c.quotient_familial(d, AccesApiParticulier(SecretStr("t"), "13002526500014")),
            ["recipient"],
            id="recipient-checksum",
        ),
        pytest.param(lambda c, d, a: c.quotient_familial(d, a, annee=2023), ["annee"], id="annee-before-N-2"),
        pytest.param(lambda c, d, a: c.quotient_familial(d, a, annee=2027), ["annee"], id="annee-future"),
        pytest.param(
            lambda c, d, a: c.quotient_familial(d, a, annee=2026, mois=12), ["mois"], id="mois-future"
        ),
        pytest.param(lambda c, d, a: c.quotient_familial(d, a, mois=13), ["mois"], id="mois-13"),
        pytest.param(
            lambda c, d, a: c.revenu_solidarite_active(
                d.model_copy(update={"prenoms": ["A", "B", "C", "D"]}), a
            ),
            ["demandeur.prenoms"],
            id="four-prenoms",
        ),
        pytest.param(
            lambda c, d, a: c.quotient_familial_france_connect(SecretStr(" "), recipient="123"),
            ["recipient", "jeton_france_connect"],
            id="france-connect",
        ),
    ],
)
async def test_invalid_input_is_refused_before_any_call(
    client: ApiParticulierClient,
    demandeur: Demandeur,
    acces: AccesApiParticulier,
    call: Callable[..., Any],
    champs: list[str],
) -> None:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        route = router.route()
        with pytest.raises(InvalidInput) as caught:
            await call(client, demandeur, acces)
    assert not route.called
    assert [e.champ for e in caught.value.errors] == champs
    assert "13002526500014" not in caught.value.detail


async def test_transport_timeout_becomes_upstream_timeout(
    upstream: respx.MockRouter, client: ApiParticulierClient, demandeur: Demandeur, acces: AccesApiParticulier
) -> None:
    upstream.get(QF_PATH).mock(side_effect=httpx.ReadTimeout("timed out"))

    with pytest.raises(UpstreamTimeout) as caught:
        await client.quotient_familial(demandeur, acces)
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert "LEFEBVRE" not in str(caught.value)


async def test_undecodable_body_becomes_upstream_unavailable(
    demandeur: Demandeur, acces: AccesApiParticulier
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        stream = httpx.ByteStream(b"not gzip")
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=stream)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = ApiParticulierClient(http, base_url=BASE_URL, today=lambda: TODAY)
        with pytest.raises(UpstreamUnavailable) as caught:
            await client.quotient_familial(demandeur, acces)
    assert isinstance(caught.value.__cause__, httpx.DecodingError)


async def test_connection_error_becomes_upstream_unavailable(
    upstream: respx.MockRouter, client: ApiParticulierClient, demandeur: Demandeur, acces: AccesApiParticulier
) -> None:
    upstream.get(QF_PATH).mock(side_effect=httpx.ConnectError("connection refused"))

    with pytest.raises(UpstreamUnavailable) as caught:
        await client.quotient_familial(demandeur, acces)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


@pytest.mark.parametrize(
    ("donnee", "content", "detail"),
    [
        ("quotient_familial", b"{not json", "JSON invalide"),
        ("quotient_familial", b"<html>Bad gateway</html>", "JSON invalide"),
        ("quotient_familial", b'{"data": {"quotient_familial": {"valeur": "beaucoup"}}}', "forme inattendue"),
        ("quotient_familial", b'{"errors": []}', "forme inattendue"),
        ("revenu_solidarite_active", b'{"data": {"est_beneficiaire": "peut-etre"}}', "forme inattendue"),
        ("revenu_solidarite_active", b'{"data": []}', "forme inattendue"),
    ],
)
async def test_malformed_answer_is_a_502(
    *,
    upstream: respx.MockRouter,
    client: ApiParticulierClient,
    demandeur: Demandeur,
    acces: AccesApiParticulier,
    donnee: str,
    content: bytes,
    detail: str,
) -> None:
    upstream.get(f"/v3/dss/{donnee}/identite").respond(
        200, content=content, headers={"X-Request-ID": "rid-1"}
    )

    with pytest.raises(UpstreamError) as caught:
        await getattr(client, donnee)(demandeur, acces)
    assert type(caught.value) is UpstreamError
    assert caught.value.status == 502
    assert detail in caught.value.detail
    assert caught.value.request_id == "rid-1"
    assert caught.value.__cause__ is None  # a ValidationError would quote the answer's personal data


async def test_timeout_defaults_to_five_seconds_and_is_configurable(
    upstream: respx.MockRouter,
    make_client: Callable[..., ApiParticulierClient],
    demandeur: Demandeur,
    acces: AccesApiParticulier,
) -> None:
    route = upstream.get(QF_PATH).respond(
        200, json=fixture("v3_qf_identite_200_scope_quotient_familial_only.json")
    )

    await make_client().quotient_familial(demandeur, acces)
    await make_client(timeout=httpx.Timeout(2.0)).quotient_familial(demandeur, acces)

    timeouts = [call.request.extensions["timeout"] for call in route.calls]
    assert timeouts[0]["read"] == 5.0
    assert timeouts[1]["read"] == 2.0


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, {"status": "ok", "last_update": "2026-04-28T10:12:07+02:00"}, True),
        (200, {"status": "maintenance", "until": "2026-11-29T23:45:00+01:00"}, False),
        (502, {"status": "bad_gateway"}, False),
        (200, ["not", "an", "object"], False),
    ],
)
async def test_ping(
    upstream: respx.MockRouter, client: ApiParticulierClient, status: int, body: Any, expected: bool
) -> None:
    route = upstream.get("/api/cnaf_msa_quotient_familial/ping").respond(status, json=body)

    assert await client.ping() is expected
    assert "Authorization" not in route.calls.last.request.headers


async def test_ping_unreachable_is_false(upstream: respx.MockRouter, client: ApiParticulierClient) -> None:
    upstream.get("/api/cnaf_msa_quotient_familial/ping").mock(side_effect=httpx.ConnectError("refused"))

    assert await client.ping() is False


async def test_ping_refuses_a_provider_that_is_not_a_name(client: ApiParticulierClient) -> None:
    with pytest.raises(ValueError, match="fournisseur"):
        await client.ping("../v3/dss")
