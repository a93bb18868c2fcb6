"""Campaigns (issue 18): a whole file of applicants decided at the pace the quotas allow, on a task
queue (taskiq), each line a real, journaled decision, exactly once in effect."""

from app.services.campagnes.broker import FileCampagnes, broker_redis
from app.services.campagnes.execution import ExecutionCampagnes, Pause, id_decision
from app.services.campagnes.service import CampagnesService, Lancement, Limites, ResultatLigne
from app.services.campagnes.stockage import Avancement, Campagne, StockageCampagnes

__all__ = [
    "Avancement",
    "Campagne",
    "CampagnesService",
    "ExecutionCampagnes",
    "FileCampagnes",
    "Lancement",
    "Limites",
    "Pause",
    "ResultatLigne",
    "StockageCampagnes",
    "broker_redis",
    "id_decision",
]
