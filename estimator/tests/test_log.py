import io
import json
import logging

from estimator.log import KafkaClientLogs, Logger


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_lines_carry_the_system_keys_and_extra_fields() -> None:
    stream = io.StringIO()
    logger = Logger("info", stream)
    logger.debug("x.hidden", "below the level")
    logger.warn("record.dead_lettered", "magic byte is 7", partition=0, offset=12)
    [line] = lines(stream)
    assert list(line)[:5] == ["time", "level", "service", "event", "message"]
    assert line["level"] == "warn"
    assert line["service"] == "price-estimate"
    assert line["event"] == "record.dead_lettered"
    assert line["partition"] == 0
    assert str(line["time"]).endswith("Z")


def test_kafka_client_logs_become_json_lines() -> None:
    stream = io.StringIO()
    handler = KafkaClientLogs(Logger("debug", stream))
    record = logging.LogRecord(
        "rdkafka.consumer", logging.ERROR, __file__, 1, "FAIL %s", ("broker down",), None
    )
    handler.emit(record)
    [line] = lines(stream)
    assert (line["level"], line["event"], line["message"]) == ("error", "kafka.client", "FAIL broker down")
