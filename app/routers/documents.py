"""Documents people read (issue 16): the fiche de décision, the letter to the applicant, the
published rules (HTML or PDF by `Accept` or `?format=`) and the verification of a printed code.

Scope: `eligibilite`, as for reading a decision (`GET /v1/decisions/{id}`) or the règlement.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response

from app.dependencies import EligibiliteAppelant, ServicesDep
from app.errors import NotAcceptable
from app.schemas.documents import DemandeLettre, VerificationDocument
from app.schemas.problem import erreurs
from app.services.documents import CODE_PATTERN, Demandeur, Document, FormatDocument, resume

router = APIRouter(prefix="/v1", tags=["documents"])

HTML = "text/html"
PDF = "application/pdf"

Format = Annotated[
    Literal["html", "pdf"] | None,
    Query(description="`html` ou `pdf` ; prime sur `Accept`. Sans l'un ni l'autre : PDF."),
]
Accept = Annotated[str | None, Header(include_in_schema=False, max_length=1000)]


def reponse_document(description: str) -> dict[int | str, dict[str, Any]]:
    """The 200 of a document: HTML or PDF, never JSON."""
    return {
        200: {
            "description": description + " En HTML (`text/html`) ou en PDF balisé et accessible "
            "(`application/pdf`, PDF/UA-1), selon `format` ou `Accept`.",
            "content": {
                HTML: {"schema": {"type": "string", "description": "Page HTML autonome (langue fr)."}},
                PDF: {"schema": {"type": "string", "format": "binary", "description": "Document PDF A4."}},
            },
        },
        **erreurs(404, 406),
    }


def choisir_format(format: str | None, accept: str | None) -> FormatDocument:
    """`format` first; else the best of `Accept` (q-values, then order); PDF when anything goes."""
    if format is not None:
        return "pdf" if format == "pdf" else "html"
    if accept is None or not accept.strip():
        return "pdf"
    candidats: list[tuple[float, int, FormatDocument]] = []
    for rang, morceau in enumerate(accept.split(",")[:50]):
        type_, *parametres = (p.strip() for p in morceau.split(";"))
        q = 1.0
        for p in parametres:
            nom, _, valeur = p.partition("=")
            if nom.strip().lower() == "q":
                try:
                    q = float(valeur)
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        type_ = type_.lower()
        formats: dict[str, FormatDocument] = {
            HTML: "html", "application/xhtml+xml": "html", "text/*": "html",
            PDF: "pdf", "application/*": "pdf", "*/*": "pdf",
        }  # fmt: skip
        trouve = formats.get(type_)
        if trouve is not None:
            candidats.append((-q, rang, trouve))
    if not candidats:
        raise NotAcceptable(
            "Ce document est servi en HTML (`text/html`) ou en PDF (`application/pdf`) : "
            "l'en-tête Accept n'en nomme aucun (ou utilisez `?format=html|pdf`)."
        )
    return min(candidats)[2]


def _repondre(document: Document, *, personnel: bool) -> Response:
    en_tetes = {
        "Content-Disposition": f'inline; filename="{document.nom_fichier}"',
        # A decision's documents carry personal data: no shared or browser cache keeps them.
        "Cache-Control": "no-store" if personnel else "public, max-age=300",
        "Vary": "Accept",
        "X-Content-Type-Options": "nosniff",
    }
    if document.media_type.startswith(HTML):
        # The page holds everything inline: no script, no remote resource may load.
        en_tetes["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
            "base-uri 'none'; form-action 'none'"
        )
    return Response(document.contenu, media_type=document.media_type, headers=en_tetes)


@router.post(
    "/decisions/{decision_id}/fiche",
    operation_id="imprimer_fiche_decision",
    summary="La fiche de décision (agent, commission), en HTML ou PDF",
    response_class=Response,
    responses=reponse_document("La fiche de décision."),
)
async def post_fiche(
    *,
    decision_id: UUID,
    request: Request,
    services: ServicesDep,
    appelant: EligibiliteAppelant,
    format: Format = None,
    accept: Accept = None,
) -> Response:
    """Chaque aide (statut, montant ou tranche), chaque condition (valeur, seuil, marge,
    délibération, source : fournisseur, période, obtention, cache, identifiant de requête), les
    paramètres appliqués, le règlement (identifiant, version, empreinte), la mention de l'article
    L. 311-3-1 du CRPA, l'identifiant de la décision et sa référence au journal, la place de la
    décision de l'agent et de sa signature, et un code de vérification avec son code QR. Rendue
    depuis la décision journalisée seulement : imprimée un an plus tard, elle dit ce qui a été
    décidé alors. Une décision d'un autre organisme est introuvable (404)."""
    choix = choisir_format(format, accept)
    url = str(request.url_for("verifier_document", decision_id=decision_id))
    document = await services.documents.fiche(appelant.organisme, decision_id, choix, url_verification=url)
    return _repondre(document, personnel=True)


@router.post(
    "/decisions/{decision_id}/lettre",
    operation_id="imprimer_lettre_demandeur",
    summary="La lettre au demandeur, en HTML ou PDF",
    response_class=Response,
    responses=reponse_document("La lettre au demandeur."),
)
async def post_lettre(
    *,
    decision_id: UUID,
    demande: DemandeLettre,
    services: ServicesDep,
    appelant: EligibiliteAppelant,
    format: Format = None,
    accept: Accept = None,
) -> Response:
    """En français simple, sans autre référence interne que celle du dossier : ce qui est proposé
    pour chaque aide et pourquoi, les pièces à apporter pour une aide à vérifier, les données
    obtenues et auprès de qui, comment demander les règles et leur application (article
    R. 311-3-1-2 du CRPA), comment contester, et l'information de l'article 14 du RGPD (adresse,
    DPO, signataire et durée de conservation : `eg organisme coordonnees`). Le nom et l'adresse
    du corps servent à l'en-tête, puis sont oubliés : ni journal, ni trace, ni cache."""
    choix = choisir_format(format, accept)
    destinataire = Demandeur(nom=demande.demandeur.nom, adresse=tuple(demande.demandeur.adresse))
    document = await services.documents.lettre(appelant.organisme, decision_id, choix, demandeur=destinataire)
    return _repondre(document, personnel=True)


@router.get(
    "/reglement/publication",
    operation_id="publier_reglement",
    summary="Les règles publiées du règlement (article L. 312-1-3 du CRPA), en HTML ou PDF",
    response_class=Response,
    responses=reponse_document("Les règles des aides de l'organisme, pour son site."),
)
async def get_publication(
    services: ServicesDep, appelant: EligibiliteAppelant, format: Format = None, accept: Accept = None
) -> Response:
    """Chaque aide et ses conditions en français, les paramètres avec leurs valeurs datées et
    leurs délibérations, les barèmes en tableaux et en graphiques en escalier, les données
    utilisées et leurs sources : ce que l'organisme publie sur son site."""
    choix = choisir_format(format, accept)
    document = await services.documents.publication(appelant.organisme, choix)
    return _repondre(document, personnel=False)


@router.get(
    "/decisions/{decision_id}/verification",
    operation_id="verifier_document",
    name="verifier_document",
    response_model=VerificationDocument,
    summary="Vérifier qu'un document imprimé correspond au journal",
    responses=erreurs(404, 409),
)
async def get_verification(
    decision_id: UUID,
    code: Annotated[
        str,
        Query(
            description="Code de vérification imprimé sur la fiche ou la lettre (ex. K7QF-2MXA-PZCD).",
            pattern=CODE_PATTERN,
        ),
    ],
    services: ServicesDep,
    appelant: EligibiliteAppelant,
) -> VerificationDocument:
    """Le code imprimé (et son code QR) dérive de l'empreinte SHA-256 du contenu journalisé de la
    décision : s'il correspond, la réponse rappelle ce que le journal dit de chaque aide, à
    comparer au papier ; sinon, 409 `document-non-conforme` (document modifié, ou imprimé depuis
    une autre décision)."""
    verification = await services.documents.verifier(appelant.organisme.id, decision_id, code)
    contenu = verification.decision.contenu
    return VerificationDocument.model_validate(
        {
            "conforme": True,
            "decision_id": verification.decision.id,
            "code": verification.code,
            "empreinte_contenu": verification.empreinte,
            "cree_le": contenu["cree_le"],
            "date_reference": contenu["date_reference"],
            "dossier_ref": contenu.get("dossier_ref"),
            "reglement": contenu["reglement"],
            "resultats": resume(contenu),
        }
    )
