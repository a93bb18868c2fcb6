"""The README's tables are the code's (`make docs`), and its commands run as printed."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from app import documentation
from app.config import PROJECT_ROOT, Settings
from app.errors import codes_stables


def test_the_readme_tables_are_generated_from_the_code() -> None:
    readme = documentation.README.read_text(encoding="utf-8")

    assert documentation.remplacer(readme) == readme, "README.md n'est pas à jour : lancez `make docs`"
    for code in codes_stables():
        assert f"`{code.code}`" in documentation.table_erreurs()
    assert documentation.main(["--check"]) == 0


def test_a_changed_table_is_detected() -> None:
    readme = documentation.README.read_text(encoding="utf-8")
    abime = readme.replace("| 415 | `type-de-contenu-non-supporte`", "| 400 | `type-de-contenu-non-supporte`")

    assert abime != readme
    assert documentation.remplacer(abime) == readme


def test_every_setting_and_every_code_has_its_words_and_none_is_stale() -> None:
    assert set(documentation.ROLES) == set(Settings.model_fields)
    assert set(documentation.QUAND) == {c.code for c in codes_stables()}


def test_the_readme_commands_run_as_printed(tmp_path: Path) -> None:
    readme = documentation.README.read_text(encoding="utf-8")
    section = readme.split("## Commandes", 1)[1].split("\n## ", 1)[0]
    [bloc] = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    lignes = [ligne for ligne in bloc.splitlines() if ligne.strip() and ligne.strip() != "make install"]
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'journal.db'}",
        "GATEWAY_MODE": "sandbox",
    }

    resultat = subprocess.run(  # noqa: S603 - the README's own commands, in this clone
        ["bash", "-euo", "pipefail", "-c", "\n".join(lignes)],  # noqa: S607
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert resultat.returncode == 0, resultat.stdout + resultat.stderr
    assert len(lignes) >= 8
    assert "1 clé(s)" in resultat.stdout
    assert "logiciel-essai  organisme ccas-essai" in resultat.stdout
