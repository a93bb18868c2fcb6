"""Local validation of the numéro fiscal, and its masking."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.errors import InvalidInput
from app.services.amont.impot_particulier import NumeroFiscal


def with_key(prefix: str) -> str:
    return prefix + f"{int(prefix) % 511:03d}"


@given(st.from_regex(r"[0-3][0-9]{9}", fullmatch=True))
def test_any_number_with_its_check_key_is_valid(prefix: str) -> None:
    assert NumeroFiscal.valider(with_key(prefix)).reveler() == with_key(prefix)


@given(st.from_regex(r"[0-3][0-9]{9}", fullmatch=True), st.integers(1, 510))
def test_a_wrong_check_key_is_refused(prefix: str, shift: int) -> None:
    wrong = prefix + f"{(int(prefix) % 511 + shift) % 511:03d}"
    with pytest.raises(InvalidInput) as caught:
        NumeroFiscal.valider(wrong)
    assert "clé de contrôle" in caught.value.errors[0].message
    assert wrong not in str(caught.value)


@pytest.mark.parametrize("text", ["", "399999989823", "39999998982300", "39999998982a0", "4999999000354"])
def test_malformed_numbers_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        NumeroFiscal.valider(text)


def test_spaces_are_ignored() -> None:
    assert NumeroFiscal.valider("39 99 999 898 230").reveler() == "3999999898230"


@pytest.mark.parametrize("spi", ["3999999899410", "3999999776202"])
def test_public_sandbox_spis_without_key_need_the_sandbox_flag(spi: str) -> None:
    with pytest.raises(InvalidInput):
        NumeroFiscal.valider(spi)
    assert NumeroFiscal.valider(spi, bac_a_sable=True).reveler() == spi


def test_sandbox_flag_does_not_open_other_wrong_keys() -> None:
    with pytest.raises(InvalidInput):
        NumeroFiscal.valider("3999999898231", bac_a_sable=True)


def test_repr_str_format_and_pickle_never_show_the_digits() -> None:
    numero = NumeroFiscal.valider("3999999898230")
    for shown in (repr(numero), str(numero), f"{numero}", repr([numero]), repr({"spi": numero})):
        assert "3999999898230" not in shown
        assert "898230" not in shown
    with pytest.raises(TypeError):
        pickle.dumps(numero)


def test_equality_by_value() -> None:
    assert NumeroFiscal.valider("3999999898230") == NumeroFiscal.valider("3999999898230")
    assert NumeroFiscal.valider("3999999898230") != NumeroFiscal.valider("3999999101455")
    assert len({NumeroFiscal.valider("3999999898230"), NumeroFiscal.valider("3999999898230")}) == 1
