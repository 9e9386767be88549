"""Confirmation before an irreversible or destructive action (approve, return, remove, disable, submit).

The action's own button posts without `confirm=1`: the view then answers 200 with a page saying what the
action means, whose Confirm button posts again with `confirm=1` (and the fields the first post carried);
only that post changes anything. Without JavaScript this is the whole flow; nothing is changed by a post
that was not confirmed, whoever sends it.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import render_template, request


def confirmed() -> bool:
    """Whether this post carries the confirmation (`confirm=1`) of its confirmation page."""
    return request.form.get("confirm") == "1"


def confirmation(
    *,
    title: str,
    meaning: Iterable[str],
    action: str,
    confirm_label: str,
    cancel: str,
    fields: Iterable[tuple[str, str]] = (),
    danger: bool = True,
):
    """The confirmation page of an action: what it means, Confirm (posting to `action`) and Cancel (`cancel`)."""
    page = render_template(
        "confirm.html",
        title=title,
        meaning=list(meaning),
        action=action,
        confirm_label=confirm_label,
        cancel=cancel,
        fields=list(fields),
        danger=danger,
    )
    return page, 200
