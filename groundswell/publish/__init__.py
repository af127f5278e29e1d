"""The relay publishing the notification log to Kafka: its loop, encoder, positions.

May import app, readstore, consumers/, settings.
"""
