"""Adapters that feed events to projections: from the store's log (embedded) or Kafka."""
