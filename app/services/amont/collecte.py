"""What was gathered for one applicant: facts, unavailable data (with why), and the upstream trace."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app import metrics
from app.errors import UpstreamError
from app.rules import explain
from app.rules.facts import CATALOGUE_FAITS, Fait, FaitIndisponible
from app.services.journal import AppelFournisseur

#: The base facts each upstream data set provides.
_FAITS_PAR_DONNEE: dict[str, tuple[str, ...]] = {}
for _nom, _definition in CATALOGUE_FAITS.items():
    if _definition.donnee is not None:
        _FAITS_PAR_DONNEE[_definition.donnee] = (*_FAITS_PAR_DONNEE.get(_definition.donnee, ()), _nom)


@dataclass(frozen=True, slots=True)
class DonneeIndisponible:
    """A data set that could not be used; `erreur` is the upstream failure, when there was one."""

    donnee: str
    code: str
    raison: str
    erreur: UpstreamError | None = None


@dataclass(slots=True)
class Collecte:
    faits: dict[str, Fait] = field(default_factory=dict)
    indisponibles: dict[str, FaitIndisponible] = field(default_factory=dict)
    appels: list[AppelFournisseur] = field(default_factory=list)
    donnees: dict[str, Any] = field(default_factory=dict)
    donnees_indisponibles: list[DonneeIndisponible] = field(default_factory=list)

    def noter_perime(self, donnee: str, quoi: str, obtenu_le: datetime, erreur: UpstreamError) -> None:
        """Stale-if-error: `donnee`'s facts come from an expired cache entry because the provider
        failed. They are used (not `marquer_indisponible`); this note tells the agent their age."""
        metrics.CACHE_PERIME_SERVI.labels(donnee).inc()
        self.donnees_indisponibles.append(
            DonneeIndisponible(
                donnee,
                "donnee-en-cache-source-indisponible",
                f"{quoi} le {explain.jour_de(obtenu_le)} (cache de la passerelle), source indisponible : "
                f"{erreur.detail}",
            )
        )

    def marquer_indisponible(
        self, donnee: str, code: str, raison: str, erreur: UpstreamError | None = None
    ) -> None:
        """Every base fact of `donnee` becomes unavailable, so the aids needing it are `a_verifier`."""
        self.donnees_indisponibles.append(DonneeIndisponible(donnee, code, raison, erreur))
        indisponible = FaitIndisponible(code=code, raison=raison)
        for nom in _FAITS_PAR_DONNEE.get(donnee, ()):
            self.faits.pop(nom, None)
            self.indisponibles[nom] = indisponible
