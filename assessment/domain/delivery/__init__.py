"""Delivery events and the four key delivery metrics (`../shared/spec/delivery-events.md`).

Pure Python, like the rest of the domain: the events reader and validator, the window, the
metrics, release reviews and gates, control charts and the check of an improvement by the
numbers. The web app, the API and the command line all compute through this package, so one
set of events gives the same figures wherever it is read.
"""

from .events import EventSet, event_to_dict, read_event_files, read_event_objects, read_events
from .metrics import METRICS, UNITS, DeliveryIndex, ServiceMetrics, Window, dora_document

__all__ = [
    "METRICS",
    "UNITS",
    "DeliveryIndex",
    "EventSet",
    "ServiceMetrics",
    "Window",
    "dora_document",
    "event_to_dict",
    "read_event_files",
    "read_event_objects",
    "read_events",
]
