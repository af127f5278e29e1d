"""Avro schemas of the domain events (one .avsc per event class) and their codec."""
