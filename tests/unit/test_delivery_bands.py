"""The band names of delivery metrics are read from the shipped DevOps framework's bands and guidance."""

from __future__ import annotations

import pytest

from assessment.config import PROJECT_ROOT
from assessment.domain.delivery.bands import band_names, band_of, metric_bands, name_bands
from assessment.domain.framework import Band, NumericAnswer
from assessment.domain.loader import load_framework_file


@pytest.fixture(scope="module")
def bands():
    return metric_bands(load_framework_file(PROJECT_ROOT / "frameworks" / "devops-delivery-maturity.yaml"))


def test_the_guidance_names_the_bands_in_order():
    text = "Tiers:\n- **Elite** (10 or more)\n- **High** (1 to 10)\n  - not **this**\nand **not** this\n"
    assert band_names(text) == ("Elite", "High")
    assert band_names(None) == ()


def test_the_first_band_holding_the_value_names_it():
    answer = NumericAnswer((Band(1, 0, 24), Band(0.5, 0, 168), Band(0.25, 0)))
    names = ("Elite", "High", "Low")
    assert band_of(answer, names, 24) == "Elite"
    assert band_of(answer, names, 24.5) == "High"
    assert band_of(answer, names, 1000) == "Low"
    assert band_of(answer, names, None) is None
    assert band_of(answer, names, -1) is None  # no band holds it
    assert band_of(answer, ("Elite",), 100) is None  # a band without a name


def test_the_shipped_framework_names_the_four_metrics(bands):
    assert set(bands) == {"deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore"}
    assert name_bands(bands, "deployment_frequency", 10) == "Elite"
    assert name_bands(bands, "deployment_frequency", 0.7) == "Medium"
    assert name_bands(bands, "lead_time", 5.0) == "Elite"
    assert name_bands(bands, "lead_time", 200) == "Medium"
    assert name_bands(bands, "lead_time", None) is None
    assert name_bands(bands, "unknown", 1) is None
