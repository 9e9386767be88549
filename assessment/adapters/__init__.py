"""Adapters: the product's ties to the outside world (file type sniffing, the report job runner,
the audit trail's key and checkpoint files). Use cases call them; they hold no business rule."""
