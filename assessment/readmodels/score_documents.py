"""An assessment's score JSON (the spec's, section 4), kept between the requests that read it unchanged.

Reading and scoring a 1,200-requirement assessment takes a few hundred milliseconds on a slow machine; a
pipeline polling its score through the API should not pay that on every request. The document is kept,
serialized, under a key read from the database on every request: the assessment's `updated_at`, status,
scope name, framework version, dates and target, and the last trail entry about it. Every change to its
answers, evidence, period or status touches `updated_at` and writes such an entry (`updated_at` has whole
seconds; the entry's sequence number tells two changes within one second apart), so a changed assessment
never finds a stale document, and each worker of a server, with its own store, sees a change at once.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

from sqlalchemy import func, select

from ..domain.scoring import scorecard_to_dict
from ..extensions import db
from ..models import Assessment, AuditEntry
from ..services.assessments import load_state

MAX_BYTES = 16 << 20  # a 1,200-requirement document is about 1 MB: the last dozen or so read stay


class ScoreDocuments:
    """Serialized score documents by key, the least recently read going first beyond `max_bytes`."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()  # a worker serves several requests at once (gthread)

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple, document: bytes) -> None:
        with self._lock:
            if key in self._entries or len(document) > self.max_bytes:
                return
            for stale in [k for k in self._entries if k[0] == key[0]]:  # an older state of the same assessment
                self._size -= len(self._entries.pop(stale))
            self._entries[key] = document
            self._size += len(document)
            while self._size > self.max_bytes:
                self._size -= len(self._entries.popitem(last=False)[1])


def _key(assessment: Assessment) -> tuple:
    """What the score depends on, as it stands in the database now."""
    last_entry = db.session.scalar(select(func.max(AuditEntry.seq)).where(AuditEntry.assessment_id == assessment.id))
    return (
        assessment.id,
        assessment.updated_at.isoformat() if assessment.updated_at else None,
        assessment.status,
        assessment.framework_version_id,
        assessment.scope.name,
        assessment.as_of.isoformat(),
        assessment.target_level,
        last_entry,
    )


def score_json(assessment: Assessment, documents: ScoreDocuments) -> bytes:
    """The assessment's score JSON as UTF-8 bytes: kept from an earlier read of the same state, or scored now
    from the stored answers and evidence by the engine every page and export uses."""
    key = _key(assessment)
    document = documents.get(key)
    if document is None:
        card = load_state(assessment).card
        document = json.dumps(scorecard_to_dict(card), ensure_ascii=False, separators=(",", ":")).encode()
        documents.put(key, document)
    return document
