"""The integrator's contract: the OpenAPI document as a generated client needs it, and offline docs.

FastAPI's document is completed once, at first request of `/openapi.json`:
- every error answer is `application/problem+json` with the one `Probleme` schema, whose `code` is
  an enum of every stable code of the exception tree (`app.errors.codes_stables`), with an example
  per code, and the headers that go with it (`WWW-Authenticate`, `Allow`, `Retry-After`);
- FastAPI's own `HTTPValidationError` (never sent: validation errors are problems) is removed;
- the response headers callers rely on are declared (`X-Request-Id`, `X-Curseur-Suivant`,
  `Idempotency-Replayed`).

`/docs` and `/redoc` load Swagger UI and ReDoc from the `fastapi-offline` distribution's files,
served by the gateway itself (`/docs-assets/…`): a town hall's closed network sees them too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from app.errors import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_PREFIX, CodeStable, codes_stables
from app.schemas.pre_remplissage import DonneesPreRemplissage
from app.schemas.problem import Probleme

#: Where Swagger UI and ReDoc's files are served from (the packaged distribution's `static/`).
ASSETS_URL = "/docs-assets"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"

PROBLEME_REF = {"$ref": "#/components/schemas/Probleme"}
REQUEST_ID_HEADER = "X-Request-Id"

#: Descriptions of the error statuses, by status.
DESCRIPTIONS_ERREURS: dict[int, str] = {
    400: "Requête invalide",
    401: "Clé d'API absente, inconnue, révoquée ou expirée",
    403: "Droit (scope) du client manquant",
    404: "Ressource introuvable",
    405: "Méthode non autorisée sur cette adresse (voir l'en-tête Allow)",
    406: "Aucun format demandé par Accept n'est servi (text/html, application/pdf)",
    409: "La requête de même Idempotency-Key est encore en cours (voir Retry-After), ou le document "
    "vérifié ne correspond pas au journal",
    415: "Corps non JSON : envoyer « Content-Type: application/json »",
    422: "Données invalides : chaque champ fautif est nommé dans `erreurs`",
    429: "Trop de requêtes pour ce client (voir Retry-After)",
    500: "Erreur interne (consignée) ou configuration invalide",
    502: "Erreur ou configuration du fournisseur de données",
    503: "Fournisseur, limiteur ou journal indisponible (Retry-After quand il est connu)",
    504: "Le fournisseur n'a pas répondu à temps",
}

EN_TETES: dict[str, dict[str, Any]] = {
    REQUEST_ID_HEADER: {
        "description": "Identifiant de la requête (celui reçu s'il est sûr, sinon un nouveau) ; "
        "à citer au support, il figure dans les journaux techniques.",
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Secondes à attendre avant de réessayer.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "WWW-Authenticate": {
        "description": "Schéma d'authentification attendu : Bearer (RFC 9110 § 11.6.1).",
        "schema": {"type": "string", "example": 'Bearer realm="eligibility-gateway"'},
    },
    "Allow": {
        "description": "Méthodes acceptées sur cette adresse (RFC 9110 § 10.2.1).",
        "schema": {"type": "string", "example": "POST"},
    },
}


def _en_tete(nom: str) -> dict[str, Any]:
    return EN_TETES[nom]


def _exemple(code: CodeStable) -> dict[str, Any]:
    valeur: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + code.code,
        "title": code.title,
        "status": code.status,
        "detail": f"{code.title} (exemple).",
        "code": code.code,
        "instance": "/v1/eligibilite",
    }
    if code.status == 422:
        valeur["erreurs"] = [{"champ": "demandeur.sexe", "message": "n'est pas une valeur admise"}]
    return {"summary": code.title, "value": valeur}


def _reponse_erreur(status: int, codes: list[CodeStable]) -> dict[str, Any]:
    exemples = {c.code: _exemple(c) for c in codes if c.status == status}
    contenu: dict[str, Any] = {"schema": PROBLEME_REF}
    if exemples:
        contenu["examples"] = exemples
    en_tetes: dict[str, Any] = {REQUEST_ID_HEADER: _en_tete(REQUEST_ID_HEADER)}
    if status == 401:
        en_tetes["WWW-Authenticate"] = _en_tete("WWW-Authenticate")
    if status == 405:
        en_tetes["Allow"] = _en_tete("Allow")
    if status in (409, 429, 503):
        en_tetes["Retry-After"] = _en_tete("Retry-After")
    return {
        "description": DESCRIPTIONS_ERREURS.get(status, "Erreur"),
        "headers": en_tetes,
        "content": {PROBLEM_CONTENT_TYPE: contenu},
    }


def _statuts_erreur(operation: dict[str, Any]) -> set[int]:
    """The error statuses an operation can answer, from what it declares and what it is."""
    statuts = {int(s) for s in operation.get("responses", {}) if s.isdigit() and int(s) >= 400}
    statuts.add(500)
    if operation.get("security"):
        statuts |= {401, 403, 429}
    if operation.get("requestBody"):
        statuts |= {400, 415, 422}
    if operation.get("parameters"):
        statuts.add(422)
    return statuts


#: OpenAPI links: where an answer's values lead (generated clients and stateful testers follow them).
LIENS: dict[str, dict[str, dict[str, Any]]] = {
    "evaluer_eligibilite": {
        "relire_decision": {
            "operationId": "relire_decision",
            "parameters": {"decision_id": "$response.body#/id"},
            "description": "La décision rendue, relue telle que journalisée.",
        },
        "imprimer_fiche_decision": {
            "operationId": "imprimer_fiche_decision",
            "parameters": {"decision_id": "$response.body#/id"},
            "description": "La fiche de décision de la décision rendue (HTML ou PDF).",
        },
        "imprimer_lettre_demandeur": {
            "operationId": "imprimer_lettre_demandeur",
            "parameters": {"decision_id": "$response.body#/id"},
            "description": "La lettre au demandeur sur la décision rendue (HTML ou PDF).",
        },
    }
}


def _liens(schema: dict[str, Any]) -> None:
    for chemin in schema.get("paths", {}).values():
        for operation in chemin.values():
            liens = LIENS.get(operation.get("operationId", ""))
            if liens:
                operation["responses"]["200"]["links"] = liens


def _references(noeud: Any) -> None:
    """Replace the `x-schema` markers (see `DonneesCertifiees`) by references, in place."""
    if isinstance(noeud, dict):
        if "x-schema" in noeud:
            nom = noeud.pop("x-schema")
            noeud.pop("type", None)
            noeud["$ref"] = f"#/components/schemas/{nom}"
        for valeur in noeud.values():
            _references(valeur)
    elif isinstance(noeud, list):
        for valeur in noeud:
            _references(valeur)


def _schema_propre(reponse: dict[str, Any] | None) -> bool:
    """Whether a route declared its own body for this status (not a problem)."""
    contenu = (reponse or {}).get("content", {})
    return any(
        media != PROBLEM_CONTENT_TYPE
        and "schema" in c
        and c["schema"].get("$ref") != "#/components/schemas/HTTPValidationError"
        for media, c in contenu.items()
    )


def completer_contrat(schema: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's OpenAPI document, completed as the module docstring says."""
    codes = codes_stables()
    composants = schema.setdefault("components", {}).setdefault("schemas", {})
    for inutile in ("HTTPValidationError", "ValidationError"):
        composants.pop(inutile, None)
    probleme = Probleme.model_json_schema(ref_template="#/components/schemas/{model}")
    composants.update(probleme.pop("$defs", {}))
    donnees = DonneesPreRemplissage.model_json_schema(
        ref_template="#/components/schemas/{model}", mode="serialization"
    )
    composants.update(donnees.pop("$defs", {}))
    composants["DonneesPreRemplissage"] = donnees
    _references(schema)
    _liens(schema)
    proprietes = dict(probleme["properties"])
    proprietes["code"] = {
        **proprietes["code"],
        "enum": [c.code for c in codes],
        "description": proprietes["code"].get("description", "")
        + " Liste fermée, générée de l'arbre des exceptions : "
        + ", ".join(f"`{c.code}` ({c.status})" for c in codes)
        + ".",
    }
    probleme["properties"] = proprietes
    composants["Probleme"] = probleme
    for chemin in schema.get("paths", {}).values():
        for operation in chemin.values():
            reponses: dict[str, Any] = operation.setdefault("responses", {})
            for statut in sorted(_statuts_erreur(operation)):
                if _schema_propre(reponses.get(str(statut))):
                    continue  # e.g. /readyz's 503, a JSON body of its own
                reponses[str(statut)] = _reponse_erreur(statut, codes)
            for code_http, reponse in reponses.items():
                if code_http.startswith("2"):
                    reponse.setdefault("headers", {}).setdefault(
                        REQUEST_ID_HEADER, _en_tete(REQUEST_ID_HEADER)
                    )
    return schema


#: The docs pages load nothing from another host, not even ReDoc's "powered by" logo: the browser
#: does not try (a closed network would make it wait), whatever the bundles reference.
CSP_DOCS = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)


def _hors_ligne(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CSP_DOCS
    return page


def installer_contrat(app: FastAPI, *, servir_docs: bool = True) -> None:
    """Replace `app.openapi` by the completed document (built once) and, unless `servir_docs` is
    false (production without DOCS_ENABLED), serve the offline docs."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            app.openapi_schema = completer_contrat(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    if not servir_docs:
        return
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        racine = request.scope.get("root_path", "")
        return _hors_ligne(
            get_swagger_ui_html(
                openapi_url=f"{racine}/openapi.json",
                title=f"{app.title} — documentation",
                swagger_js_url=f"{racine}{ASSETS_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{racine}{ASSETS_URL}/swagger-ui.css",
                swagger_favicon_url=f"{racine}{ASSETS_URL}/favicon.png",
                swagger_ui_parameters=app.swagger_ui_parameters,
            )
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        racine = request.scope.get("root_path", "")
        return _hors_ligne(
            get_redoc_html(
                openapi_url=f"{racine}/openapi.json",
                title=f"{app.title} — référence",
                redoc_js_url=f"{racine}{ASSETS_URL}/redoc.standalone.js",
                redoc_favicon_url=f"{racine}{ASSETS_URL}/favicon.png",
                with_google_fonts=False,
            )
        )
