"""Simulator of API Particulier v3 (DINUM) loaded with the official sandbox data, for sandbox mode and tests.

Public API (kept stable for the gateway, the client tests and the benchmarks):

- `create_simulator_app(config: SimulatorConfig | None = None) -> Starlette`: a new, independent
  instance (own quotas, counters, faults). Serve it with `app.simulators.server.serve_simulator`, or
  call it in-process through `httpx.ASGITransport(app=...)`.
- `SimulatorConfig`: `clock`, `accepted_tokens` (None: any bearer), `rate_limit_per_second` (20),
  `period_mode`, `latency_seconds`, `faults: FaultInjection`, `media_type`.
  `period_mode="static"` is the real staging: exact matching, `annee`/`mois` included, payloads
  verbatim. `"production"` (default) is what the real production does: a case without period
  answers for any valid `annee`/`mois`, and the QF `annee`/`mois` echo the requested month
  (default: the clock's current month); `annee_calcul`/`mois_calcul` are kept.
- `load_fixtures() -> tuple[FixtureCase, ...]`: every sandbox case; a case gives `endpoint` (URL path),
  `fichier`, `params`, `status`, `payload`, `query_params()` (the query that selects it, without
  `recipient`), `france_connect_tokens` (for `/france_connect` cases) and `raison_inatteignable` (why
  no valid call reaches it, e.g. misspelled keys in the upstream data; such calls get the 404 case).
- `load_france_connect_identities()`: fake FranceConnect tokens. The official ones (`cnaf_qfv2`,
  `all_fc`, …) never match a QF case (they carry no `nomUsage`, the cases expect one: observed upstream
  inconsistency, kept); the simulator adds one token per FranceConnect case, `simulateur-<file stem>`.

Fixtures: `fixtures/<sandbox folder>.json` = `{"format": 1, "dossier", "endpoint", "cas": [{"fichier",
"title", "description", "params", "status", "payload"}]}`, plus `fixtures/france_connect.json` (token →
FranceConnect introspection) and `fixtures/LICENSE` (MIT, DINUM). Regenerate them with
`python -m app.simulators.api_particulier.convert <upstream staging-payloads dir>`; nothing under
`/work/shared` is read at run time.

Control API (not part of API Particulier): `GET|PUT|DELETE /__simulateur/pannes` (fault injection,
JSON fields of `FaultInjection`), `GET /__simulateur/compteurs` (calls per endpoint, per second, per
status), `POST /__simulateur/reinitialiser`, `GET /__simulateur/jetons_france_connect`.

Responses are `application/json`, as the OpenAPI documents; the real SIADE sends
`application/vnd.api+json` (set `media_type` to test a client against that).
"""

from app.simulators.api_particulier.app import create_simulator_app
from app.simulators.api_particulier.fixtures import (
    FixtureCase,
    FranceConnectIdentity,
    load_fixtures,
    load_france_connect_identities,
)
from app.simulators.api_particulier.state import SimulatorConfig
from app.simulators.faults import FaultInjection

__all__ = [
    "FaultInjection",
    "FixtureCase",
    "FranceConnectIdentity",
    "SimulatorConfig",
    "create_simulator_app",
    "load_fixtures",
    "load_france_connect_identities",
]
