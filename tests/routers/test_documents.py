"""Documents people read (issue 16), end to end: a demo decision with certified data (CNAF), a
declared fact (commune), a missing datum (`a_verifier`, the tax notice to ask for) and a barème
(aide à l'énergie, tranche 1); its fiche, its letter and the published rules, parsed as HTML and as
PDF text; the verification code; isolation of organismes; content negotiation; privacy."""

from __future__ import annotations

import io
import re
import uuid
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader
from redis.asyncio import Redis

from app.config import Settings
from app.db.engine import create_engine_from_url
from app.services.documents.rendu import PageBienFormee, document_weasyprint
from app.services.organismes.coordonnees import COORDONNEES_DEMO
from tests.conftest import AUTH, gateway_settings, open_gateway
from tests.organismes import SIRET_A, SIRET_B, OrganismeDeTest, admin_de, bearer, provisionner
from tests.routers.test_eligibilite import MARTIN_AXELLE, demande

DOSSIER = "D-2026-00042"


class Page(HTMLParser):
    """What an accessibility and content check needs from a page: language, headings, table
    headers with their scope, text, and every URL it would load."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.lang: str | None = None
        self.titres: list[tuple[str, str]] = []
        self.th_sans_scope = 0
        self.th = 0
        self.images = 0
        self.images_sans_alt = 0
        self.urls: list[str] = []
        self.morceaux: list[str] = []
        self._titre: str | None = None
        self.feed(html)
        self.texte = re.sub(r"\s+", " ", " ".join(self.morceaux))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag in ("h1", "h2", "h3", "h4"):
            self._titre = tag
            self.titres.append((tag, ""))
        if tag == "th":
            self.th += 1
            self.th_sans_scope += "scope" not in a
        if tag == "img":
            self.images += 1
            self.images_sans_alt += not a.get("alt")
        for nom in ("src", "href"):
            if a.get(nom):
                self.urls.append(str(a[nom]))

    def handle_endtag(self, tag: str) -> None:
        if tag == self._titre:
            self._titre = None

    def handle_data(self, data: str) -> None:
        self.morceaux.append(data)
        if self._titre is not None:
            tag, texte = self.titres[-1]
            self.titres[-1] = (tag, texte + data)


def lue_comme_xml(html: str) -> bool:
    """The page reaches WeasyPrint through expat, not through its slower HTML5 parser (rendu.py)."""
    return isinstance(document_weasyprint(html), PageBienFormee)


def texte_pdf(contenu: bytes) -> str:
    lecteur = PdfReader(io.BytesIO(contenu))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in lecteur.pages))


def _textes_alternatifs(element: Any) -> list[str]:
    """The /Alt of every /Figure of a PDF's structure tree."""
    element = element.get_object()
    if isinstance(element, list):
        return [alt for enfant in element for alt in _textes_alternatifs(enfant)]
    if not hasattr(element, "get"):
        return []
    propres = [str(element["/Alt"])] if element.get("/S") == "/Figure" and "/Alt" in element else []
    return propres + _textes_alternatifs(element.get("/K", []))


@pytest.fixture
def settings(tmp_path: Path, simulateur: str) -> Settings:
    return gateway_settings(
        tmp_path,
        api_particulier_url=simulateur,
        api_particulier_token="jeton-de-test",
        api_key_cache_ttl_seconds=0,
    )


async def _decision(client: httpx.AsyncClient, headers: dict[str, str] = AUTH) -> dict[str, Any]:
    reponse = await client.post(
        "/v1/eligibilite",
        json=demande(MARTIN_AXELLE, declaratif={"commune_residence": "08480"}),
        headers=headers,
    )
    assert reponse.status_code == 200, reponse.text
    body: dict[str, Any] = reponse.json()
    statuts = {r["dispositif"]: r["statut"] for r in body["resultats"]}
    assert statuts["supplement-energie"] == "a_verifier"  # no numéro fiscal: the datum is missing
    assert next(r for r in body["resultats"] if r["dispositif"] == "aide-energie")["tranche"] == "1"
    return body


def _elements_de_la_fiche(decision: dict[str, Any]) -> list[str]:
    """Every element the issue lists for the fiche, as it must read on the page."""
    qf = next(r for r in decision["resultats"] if r["dispositif"] == "aide-alimentaire")["conditions"][0]
    return [
        decision["id"],
        decision["dossier_ref"],
        decision["reglement"]["id"],
        decision["reglement"]["version"],
        decision["reglement"]["empreinte"],
        "L. 311-3-1",
        *[r["libelle"] for r in decision["resultats"]],
        "Éligible", "Non éligible", "À vérifier",
        "35 €", "150 €", "tranche 1",
        qf["source"]["request_id"],  # upstream request id
        "CNAF", "appel direct", "obtenu le",
        "délibération n° 2025-14 du 12 mars 2025",
        "plafond_qf_alimentaire",
        "Déclaré par l'agent",  # the declared commune
        "dernier avis d'impôt sur le revenu (ou de non-imposition)",  # the proof to ask for
        "Paramètres appliqués",
        "Marge", "Seuil",
        "Décision de l'agent", "signature",
        "Code de vérification",
        "Référence au journal",
    ]  # fmt: skip


async def test_the_fiche_shows_every_element_in_html_and_in_pdf(settings: Settings) -> None:
    async with open_gateway(settings) as client:
        decision = await _decision(client)
        html = await client.post(
            f"/v1/decisions/{decision['id']}/fiche", headers={**AUTH, "Accept": "text/html"}
        )
        pdf = await client.post(f"/v1/decisions/{decision['id']}/fiche?format=pdf", headers=AUTH)

    assert html.status_code == 200, html.text
    assert html.headers["content-type"].startswith("text/html")
    assert html.headers["cache-control"] == "no-store"
    assert pdf.headers["content-type"] == "application/pdf"
    page = Page(html.text)
    texte = texte_pdf(pdf.content)
    attendus = _elements_de_la_fiche(decision)
    assert [e for e in attendus if e not in page.texte] == []
    # PDF text extraction breaks long tokens (ids, hashes) across lines: compare without spaces.
    compact = texte.replace(" ", "")
    assert [e for e in attendus if e.replace(" ", "") not in compact] == []
    # Accessible structure: language, one h1, headings, every table header scoped; no remote asset.
    assert page.lang == "fr"
    assert [t for t, _ in page.titres].count("h1") == 1
    assert page.th > 20
    assert page.th_sans_scope == 0
    # The QR code is the page's only image, inline (a data URI), with its alternative text.
    [qr] = page.urls
    assert qr.startswith("data:image/png;base64,")
    assert page.images_sans_alt == 0
    assert page.images == 1
    assert lue_comme_xml(html.text)
    lecteur = PdfReader(io.BytesIO(pdf.content))
    catalogue: Any = lecteur.trailer["/Root"]
    assert "/StructTreeRoot" in catalogue  # tagged PDF
    assert catalogue["/Lang"] == "fr"
    # The QR code's figure carries its alternative text (PDF/UA: every figure has one).
    assert _textes_alternatifs(catalogue["/StructTreeRoot"]) == ["Code QR de l'adresse de vérification"]
    # Every page's footer names the decision and counts the pages: a loose sheet is traceable.
    # (It was once set from an element with display: none, which sets no string: it was empty.)
    pages = len(lecteur.pages)
    assert pages > 1
    for numero, feuille in enumerate(lecteur.pages, start=1):
        texte_page = re.sub(r"\s+", "", feuille.extract_text() or "")
        assert f"fichededécision{decision['id']}" in texte_page, numero
        assert f"page{numero}/{pages}" in texte_page


async def test_the_verification_confirms_the_printed_code_and_refuses_an_altered_one(
    settings: Settings,
) -> None:
    async with open_gateway(settings) as client:
        decision = await _decision(client)
        fiche = await client.post(f"/v1/decisions/{decision['id']}/fiche?format=html", headers=AUTH)
        code = re.search(
            r"Code de vérification : <strong class=\"code\">([A-Z2-7-]{14})</strong>", fiche.text
        )
        assert code is not None
        url = re.search(r"GET (http://gateway/v1/decisions/[^ ?]+/verification\?code=[A-Z2-7-]+)", fiche.text)
        assert url is not None
        bonne = await client.get(url.group(1).removeprefix("http://gateway"), headers=AUTH)
        lettre = await client.post(
            f"/v1/decisions/{decision['id']}/lettre?format=html",
            json={"demandeur": {"nom": "Mme Test", "adresse": ["1 rue A", "08480 DÉMOVILLE"]}},
            headers=AUTH,
        )
        alteree = code.group(1)[:-1] + ("A" if code.group(1)[-1] != "A" else "B")
        mauvaise = await client.get(
            f"/v1/decisions/{decision['id']}/verification", params={"code": alteree}, headers=AUTH
        )
        mal_forme = await client.get(
            f"/v1/decisions/{decision['id']}/verification", params={"code": "pas-un-code"}, headers=AUTH
        )

    assert bonne.status_code == 200, bonne.text
    corps = bonne.json()
    assert corps["conforme"] is True
    assert corps["code"] == code.group(1)
    assert corps["reglement"] == decision["reglement"]
    assert [(r["dispositif"], r["statut"]) for r in corps["resultats"]] == [
        (r["dispositif"], r["statut"]) for r in decision["resultats"]
    ]
    assert code.group(1) in lettre.text  # the same code on the letter
    assert mauvaise.status_code == 409
    assert mauvaise.headers["content-type"] == "application/problem+json"
    assert mauvaise.json()["code"] == "document-non-conforme"
    assert mal_forme.status_code == 422


def _elements_de_la_lettre() -> list[str]:
    return [
        DOSSIER,
        "Aide au paiement des factures d'énergie",
        "Proposée", "Non proposée", "En attente d'un justificatif",
        "150 €",
        "dernier avis d'impôt sur le revenu (ou de non-imposition)",
        "Caisse nationale des allocations familiales",
        "R. 311-3-1-2", "L. 311-3-1",
        "Si vous n'êtes pas d'accord", "tribunal administratif",
        "article 14 du RGPD", "Responsable du traitement", "Finalité",
        "L. 312-1", "R. 123-5", "L. 114-8", "R. 114-9-3",
        "Destinataires", "Durée de conservation", "Vos droits", "CNIL",
        "Délégué à la protection des données",
        "dpo@demoville.invalid",  # the demo organisme's coordinates
        "1 place de la Mairie",
        "Pour le président et par délégation",
    ]  # fmt: skip


async def test_the_letter_explains_in_plain_french_with_the_rgpd_notice(settings: Settings) -> None:
    corps = {
        "demandeur": {"nom": "Madame Axelle MARTIN", "adresse": ["4 rue des Tilleuls", "08480 DÉMOVILLE"]}
    }
    async with open_gateway(settings) as client:
        decision = await _decision(client)
        html = await client.post(
            f"/v1/decisions/{decision['id']}/lettre", json=corps, headers={**AUTH, "Accept": "text/html"}
        )
        pdf = await client.post(f"/v1/decisions/{decision['id']}/lettre", json=corps, headers=AUTH)

    assert html.status_code == 200, html.text
    assert pdf.headers["content-type"] == "application/pdf"
    page = Page(html.text)
    texte = texte_pdf(pdf.content)
    for document in (page.texte, texte):
        assert [e for e in _elements_de_la_lettre() if e not in document] == []
        assert "Madame Axelle MARTIN" in document
        assert "4 rue des Tilleuls" in document
        # No internal id but the dossier reference.
        assert decision["id"] not in document.replace(" ", "")
        assert decision["reglement"]["empreinte"] not in document.replace(" ", "")
    assert page.lang == "fr"
    assert page.th_sans_scope == 0
    assert lue_comme_xml(html.text)


async def test_the_letter_prints_the_coordinates_set_by_the_administration(settings: Settings) -> None:
    async with open_gateway(settings) as client:
        decision = await _decision(client)
        engine = create_engine_from_url(settings.database_url)
        try:
            await admin_de(settings, engine).definir_coordonnees(
                "ccas-demoville",
                {"dpo": "dpo-test@exemple.invalid", "recours": "Recours propre à l'organisme de test."},
            )
        finally:
            await engine.dispose()
        html = await client.post(
            f"/v1/decisions/{decision['id']}/lettre?format=html",
            json={"demandeur": {"nom": "M. X", "adresse": ["08480 DÉMOVILLE"]}},
            headers=AUTH,
        )

    assert "dpo-test@exemple.invalid" in html.text
    assert "Recours propre à l&#39;organisme de test." in html.text
    assert COORDONNEES_DEMO.adresse is not None
    assert "1 place de la Mairie" in html.text  # the other coordinates are kept


async def test_the_published_rules_list_aids_conditions_parameters_and_bareme_charts(
    settings: Settings,
) -> None:
    async with open_gateway(settings) as client:
        html = await client.get("/v1/reglement/publication?format=html", headers=AUTH)
        pdf = await client.get("/v1/reglement/publication", headers={**AUTH, "Accept": "application/pdf"})

    assert html.status_code == 200, html.text
    page = Page(html.text)
    texte = texte_pdf(pdf.content)
    attendus = [
        "L. 312-1-3",
        "Aide alimentaire (bons d'achat)", "Colis de fin d'année", "Tarif social de la restauration scolaire",
        "Le quotient familial CAF/MSA est inférieur ou égal au plafond de quotient familial de l'aide "
        "alimentaire",
        "au moins une des conditions suivantes",
        "1er janvier 2026", "600 €", "550 €",  # the dated values of a parameter
        "délibération n° 2025-14 du 12 mars 2025",
        "Barème : aide à l'énergie selon le quotient familial",
        "Moins de 400 €", "0,90 €", "4,10 €",
        "API Impôt particulier", "API Particulier",
        "déclaration du demandeur",
    ]  # fmt: skip
    for document in (page.texte, texte):
        assert [e for e in attendus if e not in document] == []
    assert html.text.count('class="escalier"') == 2  # one step chart per barème version
    assert 'role="img"' in html.text
    assert page.th_sans_scope == 0
    assert page.urls == []
    assert lue_comme_xml(html.text)


async def test_another_organismes_decision_is_a_404_for_every_document(settings: Settings) -> None:
    cles = await provisionner(
        settings,
        [OrganismeDeTest("ccas-a", SIRET_A), OrganismeDeTest("ccas-b", SIRET_B)],
        [("ccas-a", "logiciel-a", ["eligibilite"]), ("ccas-b", "logiciel-b", ["eligibilite"]),
         ("ccas-a", "sans-droit", ["donnees"])],
    )  # fmt: skip
    async with open_gateway(settings) as client:
        decision = await _decision(client, bearer(cles["logiciel-a"]))
        b = bearer(cles["logiciel-b"])
        base = f"/v1/decisions/{decision['id']}"
        corps = {"demandeur": {"nom": "M. X", "adresse": ["08480 DÉMOVILLE"]}}
        reponses = [
            await client.post(f"{base}/fiche", headers=b),
            await client.post(f"{base}/lettre", json=corps, headers=b),
            await client.get(f"{base}/verification", params={"code": "AAAA-BBBB-CCCC"}, headers=b),
            await client.post(f"/v1/decisions/{uuid.uuid4()}/fiche", headers=bearer(cles["logiciel-a"])),
        ]
        interdit = await client.post(f"{base}/fiche", headers=bearer(cles["sans-droit"]))
        a_soi = await client.post(f"{base}/fiche?format=html", headers=bearer(cles["logiciel-a"]))

    assert [r.status_code for r in reponses] == [404, 404, 404, 404]
    assert {r.json()["code"] for r in reponses} == {"ressource-introuvable"}
    assert interdit.status_code == 403
    assert a_soi.status_code == 200


@pytest.mark.parametrize(
    ("accept", "attendu"),
    [
        ("text/html", "text/html"),
        ("application/pdf", "application/pdf"),
        ("*/*", "application/pdf"),
        ("text/html;q=0.5, application/pdf", "application/pdf"),
        ("application/pdf;q=0.1, text/html;q=0.9", "text/html"),
        ("application/json", None),
        ("image/png, text/plain", None),
    ],
)
async def test_the_format_follows_accept_and_an_unserved_one_is_a_406(
    settings: Settings, accept: str, attendu: str | None
) -> None:
    async with open_gateway(settings) as client:
        reponse = await client.get("/v1/reglement/publication", headers={**AUTH, "Accept": accept})

    if attendu is None:
        assert reponse.status_code == 406
        assert reponse.headers["content-type"] == "application/problem+json"
        assert reponse.json()["code"] == "format-non-disponible"
        assert "HTML" in reponse.json()["detail"]
    else:
        assert reponse.status_code == 200
        assert reponse.headers["content-type"].startswith(attendu)


@pytest.mark.parametrize(
    "demandeur",
    [
        {"nom": "", "adresse": ["08480 DÉMOVILLE"]},
        {"nom": "X" * 121, "adresse": ["08480 DÉMOVILLE"]},
        {"nom": "M. X", "adresse": []},
        {"nom": "M. X", "adresse": ["l"] * 7},
        {"nom": "M. X", "adresse": ["y" * 81]},
        {"nom": "M.\nX", "adresse": ["08480"]},
        {"nom": "M. X", "adresse": ["08480"], "telephone": "0600000000"},
    ],
)
async def test_the_letter_body_is_bounded(settings: Settings, demandeur: dict[str, Any]) -> None:
    async with open_gateway(settings) as client:
        reponse = await client.post(
            f"/v1/decisions/{uuid.uuid4()}/lettre", json={"demandeur": demandeur}, headers=AUTH
        )

    assert reponse.status_code == 422
    assert reponse.json()["code"] == "donnees-invalides"
    assert "X" * 50 not in reponse.text
    assert "y" * 50 not in reponse.text


@pytest.mark.integration
async def test_the_applicants_name_and_address_never_reach_logs_journal_or_redis(
    tmp_path: Path, simulateur: str, capfd: pytest.CaptureFixture[str]
) -> None:
    marque = uuid.uuid4().hex[:10].upper()
    nom, rue = f"Madame Zéphyrine QUARTZ{marque}", f"{marque} impasse des Documents"
    settings = gateway_settings(
        tmp_path,
        api_particulier_url=simulateur,
        api_particulier_token="jeton-de-test",
        log_level="DEBUG",
        redis_url="redis://127.0.0.1:6379/15",
    )
    async with open_gateway(settings) as client:
        decision = await _decision(client)
        for format in ("html", "pdf"):
            reponse = await client.post(
                f"/v1/decisions/{decision['id']}/lettre?format={format}",
                json={"demandeur": {"nom": nom, "adresse": [rue, "08480 DÉMOVILLE"]}},
                headers=AUTH,
            )
            assert reponse.status_code == 200
        # A refused body must not echo them either.
        refus = await client.post(
            f"/v1/decisions/{decision['id']}/lettre",
            json={"demandeur": {"nom": nom, "adresse": [rue * 3]}},
            headers=AUTH,
        )
        assert refus.status_code == 422
        assert marque not in refus.text
        html = await client.post(
            f"/v1/decisions/{decision['id']}/lettre?format=html",
            json={"demandeur": {"nom": nom, "adresse": [rue]}},
            headers=AUTH,
        )
        assert marque in html.text  # the control: the page does carry them
    logs = capfd.readouterr()
    journal = b"".join(p.read_bytes() for p in tmp_path.glob("journal.db*"))  # noqa: ASYNC240 - after the app stopped
    redis = Redis.from_url("redis://127.0.0.1:6379/15")
    try:
        cles = [
            (cle, await redis.get(cle))
            async for cle in redis.scan_iter("*")
            if await redis.type(cle) == b"string"
        ]
    finally:
        await redis.aclose()

    assert "document.rendered" in logs.out + logs.err
    assert marque not in logs.out + logs.err
    assert marque.encode() not in journal
    assert b"QUARTZ" not in journal
    assert cles, "the CAF answer was cached in Redis"
    for cle, valeur in cles:
        assert marque.encode() not in cle
        assert valeur is None or marque.encode() not in valeur
