"""The records layer: the only code that knows a run folder (names, states, result schema)."""
