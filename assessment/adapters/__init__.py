"""Adapters: the product's ties to the outside world (the blob stores, folder or S3; file type sniffing;
the report job runner; the audit trail's key and checkpoint files). Use cases call them; they hold no
business rule."""
