"""The relay's encoding: the shortcut from stored JSON writes exactly the codec's bytes,
and keys go to the partitions kafka-python's default partitioner would choose."""

from __future__ import annotations

import random
from typing import Any

import pytest
from eventsourcing.compressor import ZlibCompressor
from eventsourcing.persistence import Mapper
from kafka.partitioner.default import DefaultPartitioner

from groundswell.bootstrap import build_relay_encoder, shared_store
from groundswell.publish.encoder import (
    LocalEncoder,
    MessageEncoder,
    Partitions,
    StoredMessages,
    Unfamiliar,
    _plain,
)
from groundswell.settings import Settings
from tests.fixtures.every_event import every_event_history


def test_the_shortcut_writes_the_very_messages_the_codec_writes_for_every_event_type() -> None:
    engine = every_event_history()
    notifications = engine.recorder.select_notifications(start=1, limit=10_000)
    encoder = MessageEncoder()
    shortcut = StoredMessages(engine.mapper, encoder)
    assert shortcut.shortcut
    types = set()
    for stored in notifications:
        event = engine.mapper.to_domain_event(stored)
        types.add(type(event))
        assert shortcut.direct(stored) == encoder.message(event), type(event).__qualname__
    assert {t.__qualname__ for t in types} == set(encoder.codec.current), "every event type"


def test_a_compressed_store_takes_the_long_way_to_the_same_messages() -> None:
    engine = every_event_history()
    compressed = Mapper(transcoder=engine.mapper.transcoder, compressor=ZlibCompressor())
    encoder = MessageEncoder()
    messages = StoredMessages(compressed, encoder)
    assert not messages.shortcut
    for stored in engine.recorder.select_notifications(start=1, limit=10_000):
        event = engine.mapper.to_domain_event(stored)
        assert messages.message(compressed.to_stored_event(event)) == encoder.message(event)


def test_a_stored_value_of_a_type_it_does_not_know_is_left_to_the_mapper() -> None:
    with pytest.raises(Unfamiliar):
        _plain({"_type_": "decimal_str", "_data_": "1.5"})
    plain_dict = {"_type_": "not an encoding", "_data_": 1, "third": 3}
    assert _plain(plain_dict) is plain_dict


def test_a_local_encoder_reads_only_the_stretch_asked_for() -> None:
    engine = every_event_history()
    local = LocalEncoder(engine)
    stretch = local.result(local.submit(5, 9, 6))
    assert stretch.last == 9
    assert len(stretch.messages) == len(stretch.partitions) == 5
    everything = local.result(local.submit(1, engine.last_position, 6))
    assert everything.messages[4:9] == stretch.messages


class OneTopic:
    """The cluster metadata kafka-python's partitioner asks for, for one topic."""

    def __init__(self, count: int) -> None:
        self.count = count

    def topics(self) -> set[str]:
        return {"t"}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return set(range(self.count))

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return set(range(self.count))


@pytest.mark.parametrize("count", [1, 2, 3, 6, 7, 12, 50])
def test_keys_go_where_kafka_pythons_default_partitioner_sends_them(count: int) -> None:
    chooser = random.Random(count)
    keys = [chooser.randbytes(chooser.randint(0, 40)) for _ in range(300)]
    keys += [str(chooser.getrandbits(128)).encode() for _ in range(100)]
    partitions = Partitions(count)
    default: Any = DefaultPartitioner()
    for key in keys + keys:  # the second time from what it remembered
        assert partitions.of(key) == default.partition("t", key, key, None, None, OneTopic(count))


def test_how_many_encoder_processes_is_read_from_the_environment() -> None:
    assert Settings.from_environment({}).relay_encoders == 1
    assert Settings.from_environment({"GROUNDSWELL_RELAY_ENCODERS": "0"}).relay_encoders == 0
    assert Settings.from_environment({"GROUNDSWELL_RELAY_ENCODERS": "2"}).relay_encoders == 2
    for wrong in ("two", "-1", "9"):
        with pytest.raises(ValueError, match="GROUNDSWELL_RELAY_ENCODERS must be"):
            Settings.from_environment({"GROUNDSWELL_RELAY_ENCODERS": wrong})


def test_only_a_store_another_process_can_open_gets_an_encoder_process() -> None:
    assert shared_store({"PERSISTENCE_MODULE": "eventsourcing.postgres"})
    assert shared_store({"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": "a.db"})
    memory = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": ":memory:"}
    assert not shared_store(memory)
    assert not shared_store({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    engine = every_event_history()  # in memory: the relay encodes in its own process
    assert isinstance(build_relay_encoder(engine, Settings()), LocalEncoder)


@pytest.mark.timeout(60)
def test_a_wait_on_a_dead_encoder_process_ends_even_if_the_pool_never_says(tmp_path: Any) -> None:
    """The executor fails a killed process's stretches itself, but not always (a relay in CI
    waited forever on one): a stretch whose process is gone is given up all the same."""
    import os
    import signal
    from concurrent.futures import Future

    from groundswell.bootstrap import build_engine
    from groundswell.publish.encoder import EncodingUnavailable, ProcessEncoder

    engine = build_engine(Settings(data_dir=tmp_path))
    encoder = ProcessEncoder(engine)
    try:
        encoder.start()
        (pid,) = encoder.pids()
        os.kill(pid, signal.SIGKILL)
        never: Future[Any] = Future()  # as a stretch the pool lost track of
        with pytest.raises(EncodingUnavailable, match="the encoder process ended"):
            encoder.result(never)
        assert encoder.pids() == []  # closed: the next stretch starts a fresh process
    finally:
        encoder.close()
        engine.close()
