"""When CAF/MSA data can be asked for, and how long an answer stays true (French civil time).

The QF is computed monthly by CAF/MSA, so a cached QF is trusted until the end of the month it was
fetched in; and every Sunday 23:00–23:45 the QF routes are in maintenance (API Particulier answers
503), which the gateway knows without asking.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from datetime import time as heure

from app.services.amont.api_particulier.client import FUSEAU_FOURNISSEUR

#: CNAF & MSA's weekly maintenance (API Particulier answers 503 on the QF routes meanwhile).
MAINTENANCE_JOUR, MAINTENANCE_DEBUT, MAINTENANCE_FIN = 6, heure(23, 0), heure(23, 45)


def maintenance_restante(moment: datetime) -> int | None:
    """Seconds left in the Sunday 23:00–23:45 (Europe/Paris) QF maintenance, or None outside it."""
    paris = moment.astimezone(FUSEAU_FOURNISSEUR)
    if paris.weekday() != MAINTENANCE_JOUR or not MAINTENANCE_DEBUT <= paris.time() < MAINTENANCE_FIN:
        return None
    fin = paris.replace(hour=MAINTENANCE_FIN.hour, minute=MAINTENANCE_FIN.minute, second=0, microsecond=0)
    return max(1, math.ceil((fin - paris).total_seconds()))


def fin_du_mois(moment: datetime) -> datetime:
    """The first instant of the next month in French civil time (when CAF's monthly QF may change)."""
    paris = moment.astimezone(FUSEAU_FOURNISSEUR)
    suivant = (paris.replace(day=28) + timedelta(days=4)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    return suivant.astimezone(UTC)
