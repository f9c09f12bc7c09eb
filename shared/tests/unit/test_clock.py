from datetime import UTC, datetime, timedelta, timezone

from marketplace_shared.clock import iso, iso_seconds, parse_iso, utc_now_iso, utcnow
from marketplace_shared.events import event_time, new_event


def test_iso_writes_milliseconds_in_utc():
    assert iso(datetime(2026, 1, 31, 12, 0, 0, 123456)) == "2026-01-31T12:00:00.123Z"
    assert iso(datetime(2026, 1, 31, 12, 0, 59, 999999)) == "2026-01-31T12:00:59.999Z"  # cut, never rounded up
    assert iso(datetime(2026, 1, 31)) == "2026-01-31T00:00:00.000Z"
    plus_two = timezone(timedelta(hours=2))
    assert iso(datetime(2026, 1, 31, 14, 0, 0, tzinfo=plus_two)) == "2026-01-31T12:00:00.000Z"
    assert iso(None) is None


def test_now_is_naive_utc_and_formats_as_iso():
    before = datetime.now(UTC).replace(tzinfo=None)
    now = utcnow()
    assert now.tzinfo is None and abs((now - before).total_seconds()) < 5
    stamp = utc_now_iso()
    assert stamp.endswith("Z") and len(stamp) == len("2026-01-31T12:00:00.000Z")
    assert abs((parse_iso(stamp) - before).total_seconds()) < 5


def test_iso_seconds():
    assert iso_seconds(0) == "1970-01-01T00:00:00Z"


def test_parse_iso_reads_z_and_offsets_as_naive_utc():
    assert parse_iso("2026-01-31T12:00:00.123Z") == datetime(2026, 1, 31, 12, 0, 0, 123000)
    assert parse_iso("2026-01-31T14:00:00+02:00") == datetime(2026, 1, 31, 12, 0, 0)
    assert parse_iso("2026-01-31T12:00:00") == datetime(2026, 1, 31, 12, 0, 0)
    for unreadable in (None, "", "yesterday", 17):
        assert parse_iso(unreadable) is None


def test_event_time_reads_the_envelope():
    event = new_event("plugin.published", "test", {})
    assert iso(event_time(event)) == event["time"]
    assert event_time({"time": "not a time"}) is None
    assert event_time({}) is None
