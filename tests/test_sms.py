"""SMS arithmetic: E.164 numbers in the seed countries, segments in GSM-7 and UCS-2."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from receivables.core.sms import (
    GSM_BASIC,
    GSM_EXTENSION,
    country_code,
    customer_country,
    e164,
    encoding_of,
    is_mobile,
    length,
    segments,
)


@pytest.mark.parametrize(
    ("number", "country", "expected"),
    [
        # Spain: mobile and fixed, with spaces, dots, the 0034 and +34 prefixes
        ("612 34 56 78", "ES", "+34612345678"),
        ("612.345.678", "ES", "+34612345678"),
        ("0034 612 345 678", "HU", "+34612345678"),
        ("+34 91 123 45 67", "GB", "+34911234567"),
        # United Kingdom: the trunk 0 goes, +44 comes
        ("07911 123456", "GB", "+447911123456"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("+44 (0)7911 123456", "ES", "+447911123456"),
        # Hungary: the 06 trunk prefix and the area codes
        ("06 30 123 4567", "HU", "+36301234567"),
        ("06-1-234-5678", "HU", "+3612345678"),
        ("+36 20 987 6543", "ES", "+36209876543"),
        # China: mobile numbers of 11 digits, fixed lines with the 0 trunk prefix
        ("138 0013 8000", "CN", "+8613800138000"),
        ("010-1234 5678", "CN", "+861012345678"),
        ("+86 139 1234 5678", "GB", "+8613912345678"),
    ],
)
def test_numbers_become_e164_in_the_customers_country(number, country, expected):
    assert e164(number, country) == expected


@pytest.mark.parametrize("number", ["", "n/a", "123", "612 34 56", "+34 612 34 56 78 99"])
def test_what_is_not_a_number_is_none(number):
    assert e164(number, "ES") is None


def test_mobile_or_fixed_line():
    assert is_mobile("+34612345678") is True and is_mobile("+34911234567") is False
    assert is_mobile("+447911123456") is True and is_mobile("+442079460018") is False


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("ES", "ES"),
        ("uk", "GB"),
        ("Spain", "ES"),
        ("España", "ES"),
        ("Spanyolország", "ES"),
        ("西班牙", "ES"),
        ("United Kingdom", "GB"),
        ("Magyarország", "HU"),
        ("Hungary", "HU"),
        ("中国", "CN"),
        ("China", "CN"),
        ("Kína", "CN"),
        ("North", None),
        ("", None),
    ],
)
def test_country_names_in_the_seed_languages(text, code):
    assert country_code(text) == code


def test_customer_country_from_region_then_address_then_default():
    assert customer_country("HU", "1 Road\nLondon\nUnited Kingdom", "ES") == "HU"
    assert customer_country("North", "1 Road\nLondon\nUnited Kingdom", "ES") == "GB"
    assert customer_country("", "Calle Mayor 2, 28013 Madrid, España", "HU") == "ES"
    assert customer_country(None, "somewhere", "cn") == "CN"


def test_gsm7_segments_and_the_extension_table():
    assert segments("a" * 160) == ("GSM-7", 1)
    assert segments("a" * 161) == ("GSM-7", 2)
    assert segments("a" * 306) == ("GSM-7", 2)
    assert segments("a" * 307) == ("GSM-7", 3)
    # Euro sign, brackets, braces: two septets each.
    assert segments("€" * 80) == ("GSM-7", 1) and length("€" * 80) == 160
    assert segments("€" * 81) == ("GSM-7", 2)
    # An escape pair is never split: 152 plain + one € do not fit one part of 153.
    assert segments("a" * 152 + "€" + "a" * 152) == ("GSM-7", 3)
    # é, ñ, ü, ä, ö are GSM-7; Spanish á, í, ó, ú and Hungarian ő, ű are not.
    assert encoding_of("Señor Müller, café Ä Ö") == "GSM-7"
    assert encoding_of("García") == "UCS-2" and encoding_of("Kovács") == "UCS-2"
    assert encoding_of("erről") == "UCS-2"


def test_ucs2_segments_for_accented_and_chinese_text():
    assert segments("á" * 70) == ("UCS-2", 1)
    assert segments("á" * 71) == ("UCS-2", 2)
    assert segments("张" * 134) == ("UCS-2", 2)
    assert segments("张" * 135) == ("UCS-2", 3)
    # A character outside the BMP takes two UTF-16 units and is never split.
    assert length("😀" * 35) == 70 and segments("😀" * 35) == ("UCS-2", 1)
    assert segments("a" * 66 + "😀" + "a" * 66) == ("UCS-2", 3)
    text = "张伟：您的发票 SH-2026-77 金额 ¥8,800.00 已到期，请今日付款。"
    assert segments(text) == ("UCS-2", 1)


@given(st.text(alphabet=sorted(GSM_BASIC | GSM_EXTENSION), max_size=800))
def test_gsm_parts_hold_the_text(text):
    encoding, parts = segments(text)
    assert encoding == "GSM-7"
    units = length(text)
    if units <= 160:
        assert parts == (1 if text else 0)
    else:
        # Each part holds at most 153 septets and loses at most one to an unsplit pair.
        assert 153 * (parts - 1) < units + parts and units <= 153 * parts


@given(st.text(min_size=1, max_size=400))
def test_any_text_has_an_encoding_and_enough_parts(text):
    encoding, parts = segments(text)
    capacity = (
        (160 if encoding == "GSM-7" else 70)
        if parts == 1
        else (153 if encoding == "GSM-7" else 67) * parts
    )
    assert length(text) <= capacity
