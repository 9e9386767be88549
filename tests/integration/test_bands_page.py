"""The questionnaire shows a numeric question's bands and unit beside the field, and the band the
saved value falls in, without JavaScript."""

from __future__ import annotations

import re

from tests.integration.helpers import autosave


def _block(html: str, rid: str) -> str:
    return re.search(rf'<article[^>]*data-requirement="{rid}".*?</article>', html, re.S).group(0)


def test_bands_and_unit_beside_the_field_with_the_saved_values_band(client, devops):
    assessment, _ = devops
    block = _block(client.get(f"/assessments/{assessment}/domains/1").get_data(as_text=True), "DEP-02")
    assert "Credit by band (hours):" in block
    ranges = re.findall(r"<li[^>]*data-band[^>]*>([^<]*)<", block)
    assert ranges == ["up to 24: full credit", "over 24 up to 168: credit 0.5", "over 168: no credit"]
    assert "Type a number to see its band." in block and "current-band" not in block

    assert autosave(client, assessment, "DEP-02", "30").status_code == 200
    block = _block(client.get(f"/assessments/{assessment}/domains/1").get_data(as_text=True), "DEP-02")
    assert "30 hours falls in the band over 24 up to 168 hours: credit 0.5." in block
    current = re.findall(r'<li class="current-band"[^>]*>([^<]*)<span class="band-mark"> \(this answer\)', block)
    assert current == ["over 24 up to 168: credit 0.5"]
