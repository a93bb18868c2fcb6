"""The providers upstream (API Particulier, API Impôt particulier) and everything that protects
their calls — cache, coalescing, quotas, breaker, deadline, retries — and the collection of one
applicant's certified facts from them."""

from app.services.amont.collecte import Collecte, DonneeIndisponible
from app.services.amont.donnees import CollecteDonnees
from app.services.amont.source_caf import SourceCaf
from app.services.amont.source_impot import SourceImpot

__all__ = ["Collecte", "CollecteDonnees", "DonneeIndisponible", "SourceCaf", "SourceImpot"]
