"""Read models: named, pure folds over domain events. No Kafka, no SQL in here."""
