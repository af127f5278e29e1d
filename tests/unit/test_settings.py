"""Settings read from the environment: defaults, accepted spellings, clear refusals."""

from __future__ import annotations

import pytest

from groundswell.settings import Settings


def test_a_projection_reads_kafka_in_a_process_of_its_own_unless_told_otherwise() -> None:
    assert Settings.from_environment({}).consumer_process is True
    assert Settings.from_environment({"GROUNDSWELL_CONSUMER_PROCESS": ""}).consumer_process
    for text, expected in [("0", False), ("off", False), ("No", False), ("1", True), ("yes", True)]:
        settings = Settings.from_environment({"GROUNDSWELL_CONSUMER_PROCESS": text})
        assert settings.consumer_process is expected, text


def test_a_yes_no_setting_refuses_anything_else_naming_the_variable() -> None:
    with pytest.raises(ValueError, match=r"CONSUMER_PROCESS must be 1 or 0 .*, not 'sometimes'"):
        Settings.from_environment({"GROUNDSWELL_CONSUMER_PROCESS": "sometimes"})
