"""An audit entry's before/after as changed fields (issue 14), not raw JSON."""

from __future__ import annotations

from assessment.domain.trail import canonical_json
from assessment.domain.trail_diff import FieldChange, changed_fields


def test_only_the_changed_fields_old_to_new():
    before = canonical_json({"status": "draft", "owner": None, "title": "Same"})
    after = canonical_json({"status": "submitted", "owner": "alice", "title": "Same"})
    changes = changed_fields(before, after)
    assert [c.as_text() for c in changes] == ["owner: — -> alice", "status: draft -> submitted"]


def test_an_entry_with_only_an_after_lists_every_field_as_new():
    changes = changed_fields(None, canonical_json({"requirement": "CI-01", "priority": 10340}))
    assert changes == (FieldChange("priority", "—", "10340"), FieldChange("requirement", "—", "CI-01"))


def test_removed_fields_long_values_and_plain_values():
    assert changed_fields(canonical_json({"a": 1}), canonical_json({})) == (FieldChange("a", "1", "—"),)
    long = changed_fields(None, canonical_json({"note": "x" * 500}))[0]
    assert len(long.new) == 160 and long.new.endswith("…")
    assert changed_fields(canonical_json("old"), canonical_json("new")) == (FieldChange("value", "old", "new"),)
    assert changed_fields(None, None) == ()
    nested = changed_fields(None, canonical_json({"files": ["a.pdf", "b.pdf"]}))[0]
    assert nested.new == '["a.pdf", "b.pdf"]'
