"""Read models: what pages and reports read, computed from the stored facts (dashboard, trends,
history, score snapshots). They read; they change nothing but derived data (snapshots)."""
