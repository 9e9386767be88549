"""The dashboard heatmap's column headings: domain titles cut to fit a narrow column."""

from __future__ import annotations

from assessment.readmodels.dashboard import short_title


def test_a_short_title_is_kept_whole():
    assert short_title("Deployment") == "Deployment"
    assert short_title("Pervasive security") == "Pervasive security"  # 18 characters: the limit


def test_a_long_title_is_cut_at_a_word_with_an_ellipsis():
    assert short_title("Version control and integration") == "Version control\u2026"
    assert short_title("Monitoring and observability") == "Monitoring and\u2026"
    assert short_title("Security, compliance and audit") == "Security\u2026"  # no trailing comma


def test_one_long_word_is_cut_inside_it():
    assert short_title("Supercalifragilisticexpialidocious") == "Supercalifragilist\u2026"
