"""The per-process cache of parsed frameworks: one parse however many threads ask at once, and a copy that
is the framework parsed."""

from __future__ import annotations

import hashlib
import threading
import time

from assessment.domain.loader import load_framework_text
from assessment.models import FrameworkVersion
from assessment.services import library
from bench.generate import framework_yaml


def _row(text: str) -> FrameworkVersion:
    digest = hashlib.sha256(text.encode()).hexdigest()
    return FrameworkVersion(content=text, content_sha256=digest, source_name="cache-test.yaml")


def test_threads_asking_for_a_framework_at_once_share_one_parse(monkeypatch):
    text = framework_yaml(60)
    row = _row(text + "\n# only in this test\n")
    parses = []

    def slow_parse(content, name):
        parses.append(threading.get_ident())
        time.sleep(0.2)  # long enough for every thread to arrive while the first one parses
        return load_framework_text(content, name)

    monkeypatch.setattr(library, "load_framework_text", slow_parse)
    got = []
    threads = [threading.Thread(target=lambda: got.append(library.framework_of(row))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(parses) == 1
    assert len(got) == 4 and all(framework is got[0] for framework in got)


def test_the_cached_framework_equals_the_parsed_one():
    text = framework_yaml(30) + "\n# equality\n"
    cached = library.framework_of(_row(text))
    assert cached == load_framework_text(text, "cache-test.yaml")
    assert library.framework_of(_row(text)) is cached
