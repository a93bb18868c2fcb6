"""The numéro fiscal never appears in a log line, an exception message, a repr or an answer."""

from __future__ import annotations

import io
import logging
import traceback
from collections.abc import Iterator

import pytest
import structlog

from app.errors import GatewayError
from app.logging import configure_logging
from app.services.amont.impot_particulier import ImpotParticulierClient, donnees_pre_remplissage, faits_impot
from tests.services.amont.impot_particulier.test_via_simulateur import ERREURS, FOYERS


@pytest.fixture
def logs_captured(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """The production logging set-up at DEBUG, its output sent to a buffer."""
    levels = {name: logging.getLogger(name).level for name in ("httpx", "httpcore", "uvicorn.access")}
    configure_logging(level="DEBUG", json=True)
    buffer = io.StringIO()
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=buffer))
    caplog.set_level(logging.DEBUG)
    yield buffer
    structlog.reset_defaults()
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    logging.getLogger("uvicorn.access").disabled = False


async def test_no_numero_fiscal_in_logs_errors_or_answers(
    sim_client: ImpotParticulierClient,
    logs_captured: io.StringIO,
    caplog: pytest.LogCaptureFixture,
) -> None:
    shown: list[str] = []
    for spi in FOYERS:
        for reponse in (
            await sim_client.derniere_situation_deux_ans(spi),
            await sim_client.assiettes_ir(spi, 2023),
        ):
            shown += [repr(reponse), repr(faits_impot(reponse)), repr(donnees_pre_remplissage(reponse))]
    for spi in ERREURS:
        with pytest.raises(GatewayError) as caught:
            await sim_client.derniere_situation(spi, 2024)
        shown += [str(caught.value), repr(caught.value), repr(caught.value.extra)]
        shown.append("".join(traceback.format_exception(caught.value)))
    for invalid in ("3999999898231", "12345"):
        with pytest.raises(GatewayError) as caught:
            await sim_client.assiettes_ir(invalid, 2024)
        shown += [str(caught.value), repr(caught.value.extra)]
        assert invalid not in shown[-1] + shown[-2]
    logs = logs_captured.getvalue()
    everything = "\n".join([logs, caplog.text, *shown])
    assert "upstream.call" in logs  # the logs were really captured
    for spi in [*FOYERS, *ERREURS]:
        assert spi not in everything
    assert "/spi/" not in everything  # no URL either
