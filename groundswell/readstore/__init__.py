"""Read-model stores per database, the Kafka batch store, the search index.

They implement consumers.ports; may import projections/, consumers/, files.
"""
