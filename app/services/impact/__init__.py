"""The impact flow (issue 17): a proposed règlement replayed on the organisme's past decisions —
what would change, for whom (by dossier reference only), and what it would cost."""

from app.services.impact.bilan import Bilan, Changement, bilan_json
from app.services.impact.proposition import Proposition, depuis_parametres, depuis_yaml
from app.services.impact.service import Rejeu, ServiceImpact

__all__ = [
    "Bilan",
    "Changement",
    "Proposition",
    "Rejeu",
    "ServiceImpact",
    "bilan_json",
    "depuis_parametres",
    "depuis_yaml",
]
