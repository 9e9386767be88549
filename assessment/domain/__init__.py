"""The pure domain core: framework model, loader, answers, scoring and backlog.

No module of this package imports Flask, SQLAlchemy or WeasyPrint (a test checks it).
"""
