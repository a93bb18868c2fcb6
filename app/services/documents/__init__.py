"""Documents people read (issue 16): the fiche de décision, the letter to the applicant, the
published rules, and the verification of a printed code. Templates and their assets ship with this
package (`templates/`, `static/`); nothing is fetched from the network."""

from app.services.documents.service import Document, DocumentsService, FormatDocument, Verification, resume
from app.services.documents.verification import CODE_PATTERN, normaliser_code
from app.services.documents.vues import Demandeur

__all__ = [
    "CODE_PATTERN",
    "Demandeur",
    "Document",
    "DocumentsService",
    "FormatDocument",
    "Verification",
    "normaliser_code",
    "resume",
]
