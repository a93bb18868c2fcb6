"""The audit journal: its record types, the writer that commits them before an answer leaves, and
the reader that serves an organisme its own entries and purges old ones."""

from app.services.journal.ecriture import Journal
from app.services.journal.lecture import (
    CurseurInvalide,
    EntreeJournal,
    FiltreJournal,
    PageJournal,
    RapportPurge,
)
from app.services.journal.records import (
    JOURNAL_UNAVAILABLE_DETAIL,
    AppelFournisseur,
    ConsultationRecord,
    DecisionRecord,
    TypeConsultation,
)

__all__ = [
    "JOURNAL_UNAVAILABLE_DETAIL",
    "AppelFournisseur",
    "ConsultationRecord",
    "CurseurInvalide",
    "DecisionRecord",
    "EntreeJournal",
    "FiltreJournal",
    "Journal",
    "PageJournal",
    "RapportPurge",
    "TypeConsultation",
]
