"""The event domain: validation, grouping, the writer and queries."""
