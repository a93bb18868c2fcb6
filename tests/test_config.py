"""Settings: embedded defaults with nothing set, placeholders refused in production."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from app.config import (
    DEFAULT_DEMO_API_KEY,
    VERIFICATIONS,
    ReglagesBase,
    Settings,
    problemes_de_configuration,
    resume_de_demarrage,
)

PRODUCTION: dict[str, Any] = {
    "gateway_mode": "production",
    "gateway_secret_key": "x" * 40,
    "api_particulier_url": "https://api-particulier.example.invalid",
    "cache_encryption_keys": "cle-fernet",
    "database_url": "postgresql://gateway@db.example.invalid:5432/gateway",
}


def test_nothing_set_means_sandbox_with_embedded_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GATEWAY_MODE", "API_PARTICULIER_URL", "REDIS_URL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)

    assert settings.is_sandbox
    assert settings.uses_builtin_api_particulier
    assert settings.uses_builtin_api_impot_particulier
    assert settings.redis_url is None
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.gateway_demo_api_key.get_secret_value() == DEFAULT_DEMO_API_KEY


def test_interface_variable_names_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_PARTICULIER_URL", "http://127.0.0.1:9100")
    monkeypatch.setenv("API_PARTICULIER_TOKEN", "jeton")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("GATEWAY_DEMO_API_KEY", "autre-cle")
    settings = Settings(_env_file=None)

    assert not settings.uses_builtin_api_particulier
    assert settings.api_particulier_token is not None
    assert settings.api_particulier_token.get_secret_value() == "jeton"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.gateway_demo_api_key.get_secret_value() == "autre-cle"


def test_production_accepts_real_secrets() -> None:
    assert Settings(_env_file=None, **PRODUCTION).gateway_mode == "production"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"gateway_secret_key": "sandbox-secret-change-me-in-production"}, "GATEWAY_SECRET_KEY"),
        ({"gateway_secret_key": "trop-court"}, "32 caractères"),
        ({"api_particulier_url": None}, "API_PARTICULIER_URL"),
        ({"cache_encryption_keys": None}, "CACHE_ENCRYPTION_KEYS"),
        ({"api_impot_particulier_url": "https://dgfip.example.invalid"}, "TOKEN_URL"),
    ],
)
def test_production_refuses_placeholders_and_gaps(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(_env_file=None, **{**PRODUCTION, **change})


def test_secrets_are_not_printed() -> None:
    assert "x" * 40 not in repr(Settings(_env_file=None, **PRODUCTION))


# --- issue 13: what production refuses besides placeholders --------------------------------------


@pytest.mark.parametrize("vide", ["", " ", ",", " , "])
def test_production_refuses_empty_cache_encryption_keys(vide: str) -> None:
    # A blank value is refused in every mode (issue 12); a list of nothing, in production (issue 13).
    with pytest.raises(ValidationError, match=r"CACHE_ENCRYPTION_KEYS (est vide|: valeur vide)"):
        Settings(_env_file=None, **{**PRODUCTION, "cache_encryption_keys": vide})


@pytest.mark.parametrize(
    ("change", "nom"),
    [
        ({"api_particulier_url": "http://api-particulier.example.invalid"}, "API_PARTICULIER_URL"),
        (
            {
                "api_impot_particulier_url": "http://dgfip.example.invalid",
                "api_impot_particulier_token_url": "https://dgfip.example.invalid/token",
            },
            "API_IMPOT_PARTICULIER_URL",
        ),
        (
            {
                "api_impot_particulier_url": "https://dgfip.example.invalid",
                "api_impot_particulier_token_url": "http://dgfip.example.invalid/token",
            },
            "API_IMPOT_PARTICULIER_TOKEN_URL",
        ),
    ],
)
def test_production_refuses_plain_http_upstreams(change: dict[str, Any], nom: str) -> None:
    with pytest.raises(ValidationError, match=f"{nom} doit commencer par https://"):
        Settings(_env_file=None, **{**PRODUCTION, **change})
    # unless explicitly allowed, for a local test against a simulator
    permis = Settings(_env_file=None, **{**PRODUCTION, **change, "allow_insecure_upstream_http": True})
    assert permis.gateway_mode == "production"


def test_sandbox_allows_plain_http_and_empty_keys() -> None:
    settings = Settings(
        _env_file=None, api_particulier_url="http://127.0.0.1:9100", cache_encryption_keys=SecretStr(",")
    )
    assert settings.is_sandbox


def test_production_refuses_several_workers_without_redis() -> None:
    with pytest.raises(ValidationError, match="2 processus sans REDIS_URL"):
        Settings(_env_file=None, **{**PRODUCTION, "gateway_workers": 2})
    avec_redis = {**PRODUCTION, "gateway_workers": 2, "redis_url": "redis://127.0.0.1:6379/0"}
    assert Settings(_env_file=None, **avec_redis).gateway_workers == 2
    assert Settings(_env_file=None, **PRODUCTION).gateway_workers == 1


def test_an_empty_variable_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """`API_PARTICULIER_TOKEN=` (compose's `${VAR:-}`) is the default, never an empty token."""
    for name in ("API_PARTICULIER_URL", "API_PARTICULIER_TOKEN", "REDIS_URL", "PORT"):
        monkeypatch.setenv(name, "")
    settings = Settings(_env_file=None)
    assert settings.api_particulier_token is None
    assert settings.uses_builtin_api_particulier
    assert settings.redis_url is None
    assert settings.port == 8000


@pytest.mark.parametrize("valeur", [" ", "  \t"])
def test_a_blank_token_is_refused_at_start(monkeypatch: pytest.MonkeyPatch, valeur: str) -> None:
    monkeypatch.setenv("API_PARTICULIER_TOKEN", valeur)
    with pytest.raises(ValidationError) as refus:
        Settings(_env_file=None)
    assert problemes_de_configuration(refus.value) == [
        "API_PARTICULIER_TOKEN : valeur vide ; retirer la variable (valeur par défaut, jeton du "
        "simulateur en bac à sable) ou la renseigner"
    ]
    with pytest.raises(ValidationError, match="API_PARTICULIER_TOKEN : valeur vide"):
        Settings(_env_file=None, api_particulier_token=SecretStr(""))


def test_each_invalid_setting_is_one_french_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "huit-mille")
    monkeypatch.setenv("GATEWAY_MODE", "prod")
    monkeypatch.setenv("UPSTREAM_TENTATIVES", "0")
    monkeypatch.setenv("CACHE_IMPOT_ACTIF", "peut-etre")
    with pytest.raises(ValidationError) as refus:
        Settings(_env_file=None)
    assert sorted(problemes_de_configuration(refus.value)) == [
        "CACHE_IMPOT_ACTIF : true ou false attendu (reçu « peut-etre »)",
        "GATEWAY_MODE : une des valeurs 'sandbox' ou 'production' attendu (reçu « prod »)",
        "PORT : un nombre entier attendu (reçu « huit-mille »)",
        "UPSTREAM_TENTATIVES : un nombre supérieur ou égal à 1 attendu (reçu « 0 »)",
    ]


def test_production_problems_are_one_line_each() -> None:
    with pytest.raises(ValidationError) as refus:
        Settings(_env_file=None, gateway_mode="production")
    lignes = problemes_de_configuration(refus.value)
    assert [ligne.split(" : ")[0] for ligne in lignes] == [
        "GATEWAY_SECRET_KEY",
        "API_PARTICULIER_URL",
        "CACHE_ENCRYPTION_KEYS",
        "DATABASE_URL",
    ]
    assert all("\n" not in ligne for ligne in lignes)


def test_production_refuses_sqlite_unless_told() -> None:
    sqlite = {**PRODUCTION, "database_url": "sqlite:////srv/var/journal.db"}
    with pytest.raises(ValidationError, match="JOURNAL_SQLITE_EN_PRODUCTION=true"):
        Settings(_env_file=None, **sqlite)
    assert Settings(_env_file=None, **sqlite, journal_sqlite_en_production=True).database_url == (
        "sqlite:////srv/var/journal.db"
    )
    assert Settings(_env_file=None, database_url="sqlite:///x.db").is_sandbox  # the sandbox's default


def test_checks_are_separate_named_functions() -> None:
    assert [v.__name__ for v in VERIFICATIONS] == [
        "verifier_secrets_non_vides",
        "verifier_secrets_de_production",
        "verifier_journal_de_production",
    ]


def test_db_upgrade_settings_need_only_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_MODE", "production")  # with nothing else production needs
    monkeypatch.setenv("DATABASE_URL", "postgresql://gateway@db.example.invalid/gateway")
    assert ReglagesBase(_env_file=None).database_url == "postgresql://gateway@db.example.invalid/gateway"


def test_start_up_summary_names_backends_and_providers_without_secrets() -> None:
    settings = Settings(
        _env_file=None,
        **{
            **PRODUCTION,
            "database_url": "postgresql://gateway:motdepasse@db.example.invalid:5432/gateway",
            "redis_url": "redis://:motdepasse-redis@cache.example.invalid:6379/0",
        },
    )
    resume = resume_de_demarrage(settings)
    assert resume == {
        "mode": "production",
        "journal": "postgresql (db.example.invalid:5432/gateway)",
        "cache": "redis (cache.example.invalid:6379/0)",
        "api_particulier": "api-particulier.example.invalid",
        "api_impot_particulier": "non configurée",
    }
    assert "motdepasse" not in str(resume)
    sandbox = resume_de_demarrage(Settings(_env_file=None))
    assert sandbox["api_particulier"] == sandbox["api_impot_particulier"] == "simulateur intégré"
    assert sandbox["cache"] == "mémoire (par processus)"
