"""DGFiP's taxation calendar: which année des revenus can be asked for on a given date.

The revenus of year N appear on the avis issued in year N+1, and API Impôt particulier serves them
from the taxation date, about 22 July of N+1 (22/07/2024 for 2023, 22/07/2025 for 2024).
So in March N the newest year is N-2, and from 22 July N it is N-1.
"""

from __future__ import annotations

from datetime import date
from typing import Final

#: (month, day) from which the revenus of the previous year are served. A partner may obtain
#: another switch date from DGFiP, hence the parameter of the functions below.
BASCULE_MILLESIME: Final[tuple[int, int]] = (7, 22)

#: Oldest année des revenus the gateway will ask for (DataPass offers N-1, N-2 and N-3 at most).
ANNEE_DES_REVENUS_MINIMALE: Final[int] = 2000


def annee_des_revenus_disponible(
    date_reference: date, *, bascule: tuple[int, int] = BASCULE_MILLESIME
) -> int:
    """The newest année des revenus that DGFiP serves on `date_reference`."""
    if (date_reference.month, date_reference.day) >= bascule:
        return date_reference.year - 1
    return date_reference.year - 2


def annee_des_revenus_plausible(annee: int, date_reference: date) -> bool:
    """Whether a year asked by the caller can exist at all on `date_reference`.

    Revenus of year N can never be taxed before N+1, so such a request is refused locally
    (no quota spent). A year before the switch date is *not* refused: a partner may have a
    custom calendar, and the upstream answer (410 4101) is then the truth.
    """
    return ANNEE_DES_REVENUS_MINIMALE <= annee < date_reference.year
