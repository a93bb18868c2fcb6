"""The documents flow: a journaled decision (or the caller's règlement) to the page people read.

Every document about a decision is rendered from the journal's record only, decrypted by the
journal's reader, so that a fiche printed a year later says exactly what was decided then. The
applicant's name and address, given for one letter, go to the template and nowhere else: no
journal row, no log field, no cache entry.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

import structlog

from app.errors import DocumentNonConforme, NotFound
from app.rules.publication import reglement_vers_dict
from app.services.documents import publication, vues
from app.services.documents.rendu import Moteur
from app.services.documents.verification import code_court, codes_egaux, empreinte_contenu, qr_png
from app.services.journal import Journal
from app.services.journal.records import DecisionRecord
from app.services.organismes import Organisme

logger = structlog.get_logger(__name__)

FormatDocument = Literal["html", "pdf"]
TypeDocument = Literal["fiche", "lettre", "publication"]

INTROUVABLE = "Aucune décision de cet organisme ne porte cet identifiant."


@dataclass(frozen=True, slots=True)
class Document:
    """A rendered document: its bytes, media type and a download name without personal data."""

    contenu: bytes
    media_type: str
    nom_fichier: str


@dataclass(frozen=True, slots=True)
class Verification:
    """What the journal confirms about a printed document."""

    decision: DecisionRecord
    code: str
    empreinte: str


class DocumentsService:
    """Fiche, letter, published rules and the verification of a printed code."""

    def __init__(self, journal: Journal, moteur: Moteur | None = None) -> None:
        self._journal = journal
        self._moteur = moteur or Moteur()
        # One thread for PDF layout (CPU-bound, serialised anyway): the event loop stays free.
        self._executeur = ThreadPoolExecutor(max_workers=1, thread_name_prefix="documents-pdf")

    def fermer(self) -> None:
        self._executeur.shutdown(wait=False, cancel_futures=True)

    async def _decision(self, organisme_id: str, decision_id: uuid.UUID) -> DecisionRecord:
        record = await self._journal.lire_decision(organisme_id, decision_id)
        if record is None:
            raise NotFound(INTROUVABLE)
        return record

    async def _rendre(
        self, gabarit: str, contexte: dict[str, Any], format: FormatDocument, nom: str
    ) -> Document:
        if format == "html":
            html = self._moteur.html(gabarit, contexte)
            return Document(html.encode("utf-8"), "text/html; charset=utf-8", f"{nom}.html")
        html = self._moteur.html(gabarit, contexte, pour_pdf=True)
        boucle = asyncio.get_running_loop()
        pdf = await boucle.run_in_executor(self._executeur, self._moteur.pdf, html)
        return Document(pdf, "application/pdf", f"{nom}.pdf")

    async def fiche(
        self, organisme: Organisme, decision_id: uuid.UUID, format: FormatDocument, *, url_verification: str
    ) -> Document:
        record = await self._decision(organisme.id, decision_id)
        empreinte = empreinte_contenu(record.contenu)
        code = code_court(empreinte)
        url = f"{url_verification}?code={code}"
        contexte = vues.fiche(
            record.contenu,
            organisme=organisme.nom,
            consultation_id=str(record.consultation_id),
            code=code,
            empreinte_contenu=empreinte,
            url_verification=url,
            qr=qr_png(url),
        )
        logger.info("document.rendered", document="fiche", format=format, decision_id=str(decision_id))
        return await self._rendre("fiche.html", contexte, format, f"fiche-{record.id}")

    async def lettre(
        self,
        organisme: Organisme,
        decision_id: uuid.UUID,
        format: FormatDocument,
        *,
        demandeur: vues.Demandeur,
        aujourd_hui: date | None = None,
    ) -> Document:
        record = await self._decision(organisme.id, decision_id)
        code = code_court(empreinte_contenu(record.contenu))
        contexte = vues.lettre(
            record.contenu,
            organisme=organisme.nom,
            coordonnees=organisme.coordonnees,
            demandeur=demandeur,
            code=code,
            aujourd_hui=aujourd_hui or datetime.now(UTC).date(),
        )
        # The log names the decision, never the applicant (name and address stay in the page).
        logger.info("document.rendered", document="lettre", format=format, decision_id=str(decision_id))
        return await self._rendre(
            "lettre.html", contexte, format, f"lettre-{record.dossier_ref or record.id}"
        )

    async def publication(self, organisme: Organisme, format: FormatDocument) -> Document:
        reglement = organisme.reglement
        contexte = publication.publication(
            reglement_vers_dict(reglement),
            reglement.catalogue,
            organisme=organisme.nom,
            site=organisme.coordonnees.site_web if organisme.coordonnees else None,
        )
        contexte["coordonnees"] = organisme.coordonnees
        logger.info("document.rendered", document="publication", format=format)
        return await self._rendre("publication.html", contexte, format, f"regles-{reglement.id}")

    async def verifier(self, organisme_id: str, decision_id: uuid.UUID, code: str) -> Verification:
        """The journal's record if `code` is the one its content gives; `DocumentNonConforme` else."""
        record = await self._decision(organisme_id, decision_id)
        empreinte = empreinte_contenu(record.contenu)
        attendu = code_court(empreinte)
        if not codes_egaux(code, attendu):
            raise DocumentNonConforme(
                "Ce code ne correspond pas au contenu journalisé de cette décision : le document "
                "n'a pas été imprimé depuis cette décision, ou il a été modifié."
            )
        return Verification(decision=record, code=attendu, empreinte=empreinte)


def resume(contenu: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each aid's outcome, as a verification shows it beside the paper."""
    return [
        {
            "dispositif": r["dispositif"],
            "libelle": r["libelle"],
            "statut": r["statut"],
            "montant": r.get("montant"),
            "tranche": r.get("tranche"),
        }
        for r in contenu.get("resultats", ())
    ]
