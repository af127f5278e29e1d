"""The pure parts of a projection's feed: which messages it keeps, how a poll is sorted,
and what an error looks like after crossing from the feed process."""

from __future__ import annotations

from typing import Any, NamedTuple

import psycopg
from kafka import TopicPartition
from kafka.errors import KafkaConnectionError, KafkaError

from consumers.kafka_projector import interest_of
from consumers.message_feed import Interest, _portable, sort
from domain.catalog import EVENT_CLASSES
from projections.catalog import all_projections
from schemas.codec import MAGIC, EventCodec

CODEC = EventCodec(EVENT_CLASSES)
BALANCES = next(p for p in all_projections() if p.name == "balances")


class Record(NamedTuple):
    offset: int
    key: bytes | None
    value: bytes | None


def message_of(event_name: str) -> bytes:
    schema = CODEC.current[event_name]
    return MAGIC + schema.fingerprint + b"body"


def test_a_projection_keeps_the_events_it_reads_and_whatever_it_cannot_read() -> None:
    interest = interest_of(BALANCES, CODEC)
    assert interest.keeps(message_of("Challenge.RewardGranted"))
    assert not interest.keeps(message_of("Idea.Submitted"))  # balances has no handler
    assert interest.keeps(b"not an event")  # poison: the projector must see it
    assert interest.keeps(MAGIC + bytes(8) + b"x")  # nobody's fingerprint
    assert interest.keeps(None)  # a tombstone


def test_a_poll_is_sorted_per_partition_keeping_where_each_part_ends() -> None:
    interest = interest_of(BALANCES, CODEC)
    granted, submitted = message_of("Challenge.RewardGranted"), message_of("Idea.Submitted")
    polled = {
        TopicPartition("t", 0): [Record(7, b"a", granted), Record(8, b"a", submitted)],
        TopicPartition("t", 2): [Record(3, b"b", submitted)],
    }
    found = sort(polled, interest, epoch=4)
    assert found.consumed == 3 and found.epoch == 4
    assert found.parts[0].kept == [(7, b"a", granted)] and found.parts[0].end == 9
    assert found.parts[2].kept == [] and found.parts[2].end == 4  # read, none kept


def test_everything_is_kept_when_no_fingerprint_is_known() -> None:
    assert Interest(frozenset(), frozenset()).keeps(message_of("Idea.Submitted"))


class Unpicklable(psycopg.OperationalError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.callback: Any = lambda: None  # lambdas do not pickle


class UnpicklableKafka(KafkaConnectionError):
    def __init__(self) -> None:
        super().__init__("broker gone")
        self.callback: Any = lambda: None


def test_an_error_crosses_to_the_projector_as_the_kind_it_tells_apart() -> None:
    refused = KafkaConnectionError("111 ECONNREFUSED")
    assert _portable(refused) is refused  # picklable: as it is

    database = _portable(Unpicklable("server closed the connection"))
    assert type(database) is psycopg.OperationalError  # waited out by the projector
    assert "Unpicklable: server closed the connection" in str(database)

    kafka = _portable(UnpicklableKafka())
    assert isinstance(kafka, KafkaError) and kafka.retriable  # still retried
    assert "UnpicklableKafka" in str(kafka)

    other = _portable(ValueError("bad"))
    assert other.args == ("bad",)
