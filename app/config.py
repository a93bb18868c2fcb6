"""Configuration of the gateway, read once at start-up from the environment (or a `.env` file).

The variable names are part of the product's interface (operators and deployment files rely on
them), which is why they are flat (`API_PARTICULIER_URL`, not `API_PARTICULIER__URL`).
Nothing here is read at import time: `get_settings()` builds the object when the app starts.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Value of every secret that ships with the sandbox. Refused in production.
SANDBOX_SECRET_PLACEHOLDER = "sandbox-secret-change-me-in-production"  # noqa: S105 - a placeholder, refused outside sandbox
DEFAULT_DEMO_API_KEY = "demo-ccas-cle-publique"  # documented sandbox key, honoured only in sandbox mode

#: A fictitious CCAS with a checksum-valid SIRET, used in sandbox mode.
DEMO_ORGANISME_SIRET = "26999000800006"


class Settings(BaseSettings):
    """Everything an operator can set. Secrets are `SecretStr` and never printed."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        # `VAR=` (compose's `${VAR:-}`, a blank line of .env) means unset, everywhere: the
        # default applies, never an empty token or URL (issue 12).
        env_ignore_empty=True,
    )

    gateway_mode: Literal["sandbox", "production"] = "sandbox"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    # --- API Particulier v3 (DINUM) -------------------------------------------------------------
    api_particulier_url: str | None = None
    api_particulier_token: SecretStr | None = None
    api_particulier_timeout_seconds: float = Field(default=5.0, gt=0, le=30)

    # --- API Impôt particulier (DGFIP) ----------------------------------------------------------
    api_impot_particulier_url: str | None = None
    api_impot_particulier_token_url: str | None = None
    api_impot_particulier_client_id: str | None = None
    api_impot_particulier_client_secret: SecretStr | None = None
    #: `ID_Teleservice` given by DGFiP for the use case (sent on every call).
    api_impot_particulier_id_teleservice: str | None = None
    api_impot_particulier_timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    #: TLS client certificate required by DGFiP in production (PEM files).
    api_impot_particulier_cert_file: Path | None = None
    api_impot_particulier_key_file: Path | None = None
    api_impot_particulier_key_password: SecretStr | None = None
    api_impot_particulier_ca_file: Path | None = None

    # --- Infrastructure -------------------------------------------------------------------------
    redis_url: str | None = None
    database_url: str = f"sqlite+aiosqlite:///{PROJECT_ROOT / 'var' / 'journal.db'}"
    #: Run Alembic migrations when the app starts (the embedded default). In a multi-replica
    #: deployment run `eligibility-gateway db upgrade` once instead and set this to false.
    database_auto_migrate: bool = True
    #: Production refuses the embedded SQLite journal (one file, one host) unless this says so.
    journal_sqlite_en_production: bool = False

    # --- Secrets of the gateway itself ----------------------------------------------------------
    #: Root key from which the cache-key HMAC and the applicant pseudonym keys are derived.
    gateway_secret_key: SecretStr = SecretStr(SANDBOX_SECRET_PLACEHOLDER)
    #: Fernet keys (url-safe base64, 32 bytes) separated by commas; the first encrypts,
    #: all decrypt, so a key can be rotated without losing the cache.
    cache_encryption_keys: SecretStr | None = None
    #: Upper bound on a cached QF's lifetime; within it, a QF is trusted until the end of the month
    #: it was fetched in (CAF/MSA refresh it monthly) (issue 6).
    cache_ttl_quotient_familial_seconds: int = Field(default=31 * 24 * 3600, ge=0)

    # --- Sandbox --------------------------------------------------------------------------------
    gateway_demo_api_key: SecretStr = SecretStr(DEFAULT_DEMO_API_KEY)
    #: SIRET of the demo organisme (sent as `recipient`); defaults to a fictitious, valid one.
    gateway_demo_siret: str | None = None
    #: Port of the built-in API Particulier simulator; 0 picks a free loopback port.
    sandbox_simulator_port: int = Field(default=0, ge=0, le=65535)
    #: Port of the built-in API Impôt particulier simulator; 0 picks a free loopback port.
    sandbox_impot_simulator_port: int = Field(default=0, ge=0, le=65535)
    reglements_dir: Path = PROJECT_ROOT / "reglements"
    demo_reglement_file: str = "demo.yaml"

    # --- Cache lifetimes and upstream protection (issue 6) ---------------------------------------
    #: A cached CAF benefit (RSA, AAH…) is trusted for this long; the QF for the month it was fetched in.
    cache_ttl_prestations_seconds: int = Field(default=3600, ge=0)
    #: Stale-if-error: how long past its lifetime a cached answer may still be served, marked as
    #: such, when the provider fails (0 disables it).
    cache_stale_max_seconds: int = Field(default=45 * 24 * 3600, ge=0)
    #: DGFiP answers are cached only when the operator enables it (DGFiP terms of use).
    cache_impot_actif: bool = False
    cache_ttl_impot_seconds: int = Field(default=24 * 3600, ge=0)
    #: API Particulier quotas: per token (20/s) and per egress IP (1000/min).
    quota_api_particulier_par_jeton_par_seconde: int = Field(default=20, ge=1)
    quota_api_particulier_par_ip_par_minute: int = Field(default=1000, ge=1)
    #: API Impôt particulier quota per OAuth2 client id.
    quota_impot_par_client_par_minute: int = Field(default=50, ge=1)
    #: Added to each quota window. None is needed against network jitter: a call holds its place
    #: from its reservation (before it is sent) until one window after its answer (after the
    #: provider counted it), see app/services/amont/quotas.py; a margin only costs pace (0.05 s
    #: made a campaign 10 % slower, issue 18). For a provider whose window is longer than it says.
    quota_marge_seconds: float = Field(default=0.0, ge=0, le=5)
    #: Circuit breaker: consecutive transient failures that open it, and how long it stays open.
    breaker_seuil_echecs: int = Field(default=5, ge=1)
    breaker_ouverture_seconds: float = Field(default=30.0, gt=0)
    #: Attempts per upstream call (1 = no retry); retries are bounded by the request deadline.
    upstream_tentatives: int = Field(default=3, ge=1, le=10)
    #: Cross-worker coalescing: how long a follower waits for the leader's result before calling.
    coalescing_attente_max_seconds: float = Field(default=6.0, gt=0, le=60)
    # --- end of issue 6 block -------------------------------------------------------------------

    # --- Organismes, access control and journal retention (issue #7) --------------------------
    #: Seconds a worker trusts an API key lookup: a revoked key stops working everywhere within
    #: this delay. 0 asks the database on every request.
    api_key_cache_ttl_seconds: float = Field(default=5.0, ge=0, le=300)
    #: Requests a client may make per window (0: unlimited); shared by all workers through Redis.
    client_rate_limit_requests: int = Field(default=600, ge=0)
    client_rate_limit_window_seconds: int = Field(default=60, ge=1, le=3600)
    #: How long consultation traces are kept (API Particulier asks for 36 months); their decisions
    #: go with them. Applied by `python -m app journal purge`.
    journal_retention_months: int = Field(default=36, ge=1, le=120)

    # --- Hostile and clumsy callers (issue 13b) --------------------------------------------------
    #: Worker processes serving the gateway: set by `python -m app serve --workers N` for its
    #: workers. Without Redis each worker meters the upstream quotas alone, so in sandbox mode
    #: each one takes 1/N of every quota; production refuses several workers without REDIS_URL.
    gateway_workers: int = Field(default=1, ge=1, le=64)
    #: Unknown API keys one source address may try per minute before it gets 429s without any
    #: database lookup (0: no limit). Counted per process.
    auth_unknown_keys_per_source_per_minute: int = Field(default=30, ge=0)
    #: The journal's key ring (`id:fernet-key,…`): the first encrypts each decision's content, all
    #: decrypt. Unset: one key derived from GATEWAY_SECRET_KEY. See README, « Journal chiffré ».
    journal_encryption_keys: SecretStr | None = None
    #: Production refuses `http://` upstream URLs (tokens and personal data in clear on the
    #: network) unless this is set, for a local test against a simulator on loopback.
    allow_insecure_upstream_http: bool = False
    # --- end of issue 13b block -----------------------------------------------------------------
    # --- What one caller can cost (issue 13; README, « Robustesse ») ---------------------------
    #: Largest request body, read while it streams, before authentication (413 beyond).
    request_body_max_bytes: int = Field(default=64 * 1024, ge=1024)
    #: `POST /v1/simulations` may carry a proposed règlement.
    simulations_body_max_bytes: int = Field(default=512 * 1024, ge=1024)
    #: A body whose next chunk does not arrive within this is answered 408.
    http_body_idle_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    #: A request's head (request line and headers) must arrive within this, from the connection
    #: or the previous answer: slow clients (slowloris) are disconnected.
    http_header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    http_max_headers: int = Field(default=100, ge=10, le=1000)
    http_max_header_bytes: int = Field(default=16 * 1024, ge=1024, le=1024 * 1024)
    http_keep_alive_seconds: float = Field(default=5.0, ge=1, le=300)
    #: Wall-clock budget of one simulation (in a worker thread), beyond its work budget: 503.
    simulation_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # --- Impact of a proposed règlement on past decisions (issue 17) ---------------------------
    #: Most decisions one `POST /v1/simulations/impact` replays (422 beyond: a shorter period).
    impact_decisions_max: int = Field(default=100_000, ge=1, le=10_000_000)
    #: Longest period of past decisions one request names, in days.
    impact_periode_jours_max: int = Field(default=366, ge=1, le=3660)
    #: Wall-clock budget of the JSON summary (the CSV streams as it goes): 503 beyond.
    impact_timeout_seconds: float = Field(default=300.0, gt=0, le=3600)
    #: `/docs`, `/redoc` and `/openapi.json`: unset means served in sandbox, not in production.
    docs_enabled: bool | None = None
    #: Bearer token `/metrics` requires; in production without it, `/metrics` is not served on
    #: the public port (set METRICS_TOKEN, or scrape a sandbox/internal instance).
    metrics_token: SecretStr | None = None

    # --- Campaigns (issue 18; README, « Campagnes ») ------------------------------------------
    #: Largest campaign file (`POST /v1/campagnes`), read while it streams (413 beyond).
    campagne_fichier_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    #: Most applicants one campaign file may hold (lines after the CSV header).
    campagne_max_lignes: int = Field(default=50_000, ge=1, le=1_000_000)
    #: Longest line of a campaign file, in bytes.
    campagne_ligne_max_bytes: int = Field(default=4096, ge=256, le=65536)
    #: Lines one queue message carries (a worker takes a lot at a time).
    campagne_lot_lignes: int = Field(default=10, ge=1, le=1000)
    #: Lines one process decides at once (all campaigns together).
    campagne_concurrence: int = Field(default=8, ge=1, le=256)
    #: How long a line taken by a worker stays its own: past it (the worker died), another takes it.
    campagne_bail_seconds: float = Field(default=60.0, ge=5, le=3600)
    #: How long a queue message may stay unacknowledged (its worker died) before another worker
    #: takes it over (Redis streams).
    campagne_reprise_seconds: float = Field(default=60.0, ge=1, le=3600)
    #: The Redis stream of the campaigns' queue (another name for another gateway on the same Redis).
    campagne_flux_redis: str = Field(default="eg-campagnes:v1:lots", pattern=r"^[A-Za-z0-9:._-]{1,100}$")
    #: Niceness `eg worker` gives itself: on a machine it shares with the gateway, the counter's
    #: requests get the CPU first (0: none).
    campagne_worker_nice: int = Field(default=10, ge=0, le=19)

    # --- Behaviour ------------------------------------------------------------------------------
    #: Time budget of one gateway request, upstream retries included.
    request_deadline_seconds: float = Field(default=8.0, gt=0, le=60)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: JSON logs; `None` means JSON unless stderr is a terminal.
    log_json: bool | None = None
    #: Once started, keep the objects built at start-up (app, règlements, pools…) out of the garbage
    #: collector's scans, and collect young objects less often. Measured under load: full
    #: collections took ~17% of a worker's CPU and made the p99; see README, performance.
    gc_tuning: bool = True

    @property
    def is_sandbox(self) -> bool:
        return self.gateway_mode == "sandbox"

    @property
    def uses_builtin_api_particulier(self) -> bool:
        """The built-in simulator serves API Particulier unless a URL points elsewhere."""
        return self.is_sandbox and not self.api_particulier_url

    @property
    def uses_builtin_api_impot_particulier(self) -> bool:
        return self.is_sandbox and not self.api_impot_particulier_url

    @property
    def serves_docs(self) -> bool:
        return self.is_sandbox if self.docs_enabled is None else self.docs_enabled

    @model_validator(mode="after")
    def _verifier(self) -> Settings:
        """Every check of `VERIFICATIONS`, all problems reported at once (one line each)."""
        problemes = [probleme for verification in VERIFICATIONS for probleme in verification(self)]
        if problemes:
            raise ConfigurationInvalide(problemes)
        return self

    @model_validator(mode="after")
    def _refuse_empty_cache_keys_in_production(self) -> Settings:
        """`CACHE_ENCRYPTION_KEYS=` (set, but empty or only commas) is no key at all (issue 13)."""
        if self.gateway_mode != "production" or self.cache_encryption_keys is None:
            return self
        if not [k for k in self.cache_encryption_keys.get_secret_value().split(",") if k.strip()]:
            raise ValueError(
                "configuration de production invalide : CACHE_ENCRYPTION_KEYS est vide ; "
                "donner au moins une clé Fernet (python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')"
            )
        return self

    @model_validator(mode="after")
    def _refuse_plain_http_upstreams_in_production(self) -> Settings:
        """Upstream tokens and personal data never cross the network in clear (issue 13)."""
        if self.gateway_mode != "production" or self.allow_insecure_upstream_http:
            return self
        urls = {
            "API_PARTICULIER_URL": self.api_particulier_url,
            "API_IMPOT_PARTICULIER_URL": self.api_impot_particulier_url,
            "API_IMPOT_PARTICULIER_TOKEN_URL": self.api_impot_particulier_token_url,
        }
        en_clair = [nom for nom, url in urls.items() if url and not url.lower().startswith("https://")]
        if en_clair:
            raise ValueError(
                "configuration de production invalide : " + ", ".join(en_clair) + " doit commencer par "
                "https:// (ALLOW_INSECURE_UPSTREAM_HTTP=true seulement pour un essai local contre un "
                "simulateur)"
            )
        return self

    @model_validator(mode="after")
    def _refuse_unshared_quotas_in_production(self) -> Settings:
        """Several workers without Redis would each spend the whole upstream quota (issue 13: 40
        calls/s and 24 × 429 on a 20/s token with 2 workers)."""
        if self.gateway_mode == "production" and self.gateway_workers > 1 and not self.redis_url:
            raise ValueError(
                f"configuration de production invalide : {self.gateway_workers} processus sans REDIS_URL "
                "dépasseraient les quotas des fournisseurs (chacun compterait seul) ; définir REDIS_URL "
                "ou servir avec --workers 1"
            )
        return self


class ConfigurationInvalide(ValueError):
    """Settings that cannot work: each problem is one French line naming the variable."""

    def __init__(self, problemes: list[str]) -> None:
        super().__init__("\n".join(problemes))
        self.problemes = problemes


# --- Checks of the settings as a whole -------------------------------------------------------------
# Each returns its problems, one French line each, "VARIABLE : what is expected". Add a check as
# a new function and list it in VERIFICATIONS.


def verifier_secrets_de_production(settings: Settings) -> list[str]:
    """The sandbox placeholders and the gaps production cannot run with."""
    if settings.is_sandbox:
        return []
    problemes: list[str] = []
    secret = settings.gateway_secret_key.get_secret_value()
    if secret == SANDBOX_SECRET_PLACEHOLDER:
        problemes.append(
            "GATEWAY_SECRET_KEY : doit être défini en production (valeur de bac à sable refusée)"
        )
    elif len(secret) < 32:
        problemes.append("GATEWAY_SECRET_KEY : au moins 32 caractères aléatoires attendus")
    if not settings.api_particulier_url:
        problemes.append("API_PARTICULIER_URL : obligatoire en production (URL https:// d'API Particulier)")
    if settings.api_impot_particulier_url and not settings.api_impot_particulier_token_url:
        problemes.append(
            "API_IMPOT_PARTICULIER_TOKEN_URL : obligatoire avec API_IMPOT_PARTICULIER_URL "
            "(URL OAuth2 de la DGFiP)"
        )
    if settings.cache_encryption_keys is None:
        problemes.append(
            "CACHE_ENCRYPTION_KEYS : obligatoire en production (clés Fernet séparées par des virgules)"
        )
    return problemes


def verifier_secrets_non_vides(settings: Settings) -> list[str]:
    """A secret given but blank (spaces, or an empty value passed in code) is never a working one:
    with an empty token every upstream call fails. Unset means the default; blank is refused."""
    problemes: list[str] = []
    for nom in ("api_particulier_token", "api_impot_particulier_client_secret", "cache_encryption_keys"):
        valeur = getattr(settings, nom)
        if valeur is not None and not valeur.get_secret_value().strip():
            problemes.append(
                f"{nom.upper()} : valeur vide ; retirer la variable (valeur par défaut"
                + (", jeton du simulateur en bac à sable" if nom == "api_particulier_token" else "")
                + ") ou la renseigner"
            )
    return problemes


def verifier_journal_de_production(settings: Settings) -> list[str]:
    """Production records decisions in PostgreSQL; SQLite only when the operator says so."""
    if settings.is_sandbox or settings.journal_sqlite_en_production:
        return []
    if settings.database_url.split(":", 1)[0].split("+", 1)[0] == "sqlite":
        return [
            "DATABASE_URL : une base PostgreSQL (postgresql://…) est attendue en production ; "
            "le journal SQLite n'y est accepté qu'avec JOURNAL_SQLITE_EN_PRODUCTION=true"
        ]
    return []


#: The checks run on every `Settings` (sandbox and production), in this order.
VERIFICATIONS: tuple[Callable[[Settings], list[str]], ...] = (
    verifier_secrets_non_vides,
    verifier_secrets_de_production,
    verifier_journal_de_production,
)


#: The expected form of a setting, by pydantic error type (French, for the operator).
_ATTENDU: dict[str, str] = {
    "int_parsing": "un nombre entier",
    "int_from_float": "un nombre entier",
    "float_parsing": "un nombre",
    "bool_parsing": "true ou false",
    "literal_error": "une des valeurs {expected}",
    "greater_than": "un nombre supérieur à {gt}",
    "greater_than_equal": "un nombre supérieur ou égal à {ge}",
    "less_than": "un nombre inférieur à {lt}",
    "less_than_equal": "un nombre inférieur ou égal à {le}",
    "path_type": "un chemin de fichier",
    "string_type": "un texte",
}


def problemes_de_configuration(erreur: ValidationError) -> list[str]:
    """One French line per invalid setting: the variable, what is expected, what was given (never
    a secret's value)."""
    lignes: list[str] = []
    for detail in erreur.errors():
        contexte: dict[str, Any] = dict(detail.get("ctx") or {})
        origine = contexte.get("error")
        if isinstance(origine, ConfigurationInvalide):
            lignes.extend(origine.problemes)
            continue
        variable = "_".join(str(part) for part in detail["loc"]).upper() or "configuration"
        modele = _ATTENDU.get(detail["type"])
        attendu = (modele.format(**contexte) if modele else str(detail["msg"])).replace("' or '", "' ou '")
        recu = detail.get("input")
        secret = any(mot in variable for mot in ("TOKEN", "SECRET", "KEY", "PASSWORD"))
        suffixe = f" (reçu « {recu} »)" if isinstance(recu, str) and not secret else ""
        lignes.append(f"{variable} : {attendu} attendu{suffixe}")
    return lignes


def resume_de_demarrage(settings: Settings) -> dict[str, str]:
    """What an operator checks at start-up: mode, journal and cache backends, providers — hosts
    only, never a password, token or key."""

    def hote(url: str) -> str:
        reste = url.split("://", 1)[-1]
        return reste.rsplit("@", 1)[-1].split("?", 1)[0]

    journal = settings.database_url.split(":", 1)[0].split("+", 1)[0]
    return {
        "mode": settings.gateway_mode,
        "journal": f"{journal} ({hote(settings.database_url)})",
        "cache": f"redis ({hote(settings.redis_url)})" if settings.redis_url else "mémoire (par processus)",
        "api_particulier": "simulateur intégré"
        if settings.uses_builtin_api_particulier
        else hote(settings.api_particulier_url or ""),
        "api_impot_particulier": "simulateur intégré"
        if settings.uses_builtin_api_impot_particulier
        else (
            hote(settings.api_impot_particulier_url)
            if settings.api_impot_particulier_url
            else "non configurée"
        ),
    }


class ReglagesBase(BaseSettings):
    """Only what `db upgrade` needs: the journal database (issue 12: no API settings asked)."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        env_ignore_empty=True,
    )

    database_url: str = Settings.model_fields["database_url"].default


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built on first use (at start-up, never at import)."""
    return Settings()
