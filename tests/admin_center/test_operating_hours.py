"""OperatingHours.is_open / next_opening: time zones, DST, overnight intervals, closed dates."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from admin_center.models import OperatingHours

MOSCOW = ZoneInfo("Europe/Moscow")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def hours(weekly, timezone="UTC", closed_dates=()) -> OperatingHours:
    return OperatingHours(name="H", timezone=timezone, weekly=weekly, closed_dates=list(closed_dates))


def local(tz, *args, fold=0) -> datetime:
    return datetime(*args, tzinfo=tz, fold=fold)


def test_open_inside_interval_and_closed_at_its_end():
    h = hours({"mon": [["09:00", "18:00"]]})
    assert not h.is_open(datetime(2026, 11, 23, 8, 59, tzinfo=UTC))  # a Monday
    assert h.is_open(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    assert h.is_open(datetime(2026, 11, 23, 17, 59, 59, tzinfo=UTC))
    assert not h.is_open(datetime(2026, 11, 23, 18, 0, tzinfo=UTC))
    assert not h.is_open(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))  # Tuesday is left out: closed


def test_interval_is_read_in_the_hours_time_zone():
    h = hours({"mon": [["09:00", "18:00"]]}, timezone="Europe/Moscow")  # UTC+3
    assert h.is_open(datetime(2026, 11, 23, 6, 0, tzinfo=UTC))
    assert not h.is_open(datetime(2026, 11, 23, 5, 59, tzinfo=UTC))
    assert not h.is_open(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))


def test_local_day_decides_not_the_utc_day():
    h = hours({"tue": [["00:00", "02:00"]]}, timezone="Europe/Moscow")
    # Monday 22:30 UTC is Tuesday 01:30 in Moscow.
    assert h.is_open(datetime(2026, 11, 23, 22, 30, tzinfo=UTC))


def test_overnight_interval_runs_into_the_next_day():
    h = hours({"fri": [["22:00", "06:00"]]}, timezone="America/New_York")
    assert h.is_open(local(NEW_YORK, 2026, 11, 27, 23, 0))  # Friday night
    assert h.is_open(local(NEW_YORK, 2026, 11, 28, 5, 59))  # Saturday early morning
    assert not h.is_open(local(NEW_YORK, 2026, 11, 28, 6, 0))
    assert not h.is_open(local(NEW_YORK, 2026, 11, 27, 21, 59))
    assert not h.is_open(local(NEW_YORK, 2026, 11, 28, 23, 0))  # Saturday night has no interval


def test_end_24_00_means_midnight_at_the_end_of_the_day():
    h = hours({"sun": [["20:00", "24:00"]]})
    assert h.is_open(datetime(2026, 11, 29, 23, 59, 59, tzinfo=UTC))
    assert not h.is_open(datetime(2026, 11, 30, 0, 0, tzinfo=UTC))


def test_all_week_intervals_are_always_open():
    h = hours({day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
    assert all(h.is_open(datetime(2026, 3, day, hour, tzinfo=UTC)) for day in range(1, 15) for hour in range(24))


def test_closed_date_opens_nothing_that_day():
    h = hours({day: [["09:00", "18:00"]] for day in WEEKDAYS}, timezone="Europe/Moscow", closed_dates=["2026-12-31"])
    assert not h.is_open(local(MOSCOW, 2026, 12, 31, 12, 0))
    assert h.is_open(local(MOSCOW, 2026, 12, 30, 12, 0))


def test_closed_date_does_not_cut_an_interval_opened_the_day_before():
    h = hours({"thu": [["22:00", "02:00"]], "fri": [["22:00", "02:00"]]}, closed_dates=["2027-01-01"])  # a Friday
    assert h.is_open(datetime(2027, 1, 1, 1, 0, tzinfo=UTC))  # Thursday's night interval continues
    assert not h.is_open(datetime(2027, 1, 1, 23, 0, tzinfo=UTC))  # Friday's does not open


def test_new_york_spring_forward_skipped_hour():
    # 2026-03-08: clocks go from 02:00 EST to 03:00 EDT.
    h = hours({"sun": [["01:00", "04:00"]]}, timezone="America/New_York")
    assert h.is_open(local(NEW_YORK, 2026, 3, 8, 1, 30))
    assert h.is_open(local(NEW_YORK, 2026, 3, 8, 3, 30))
    assert not h.is_open(local(NEW_YORK, 2026, 3, 8, 4, 0))
    # The interval lasted two real hours, not three.
    assert h.is_open(datetime(2026, 3, 8, 6, 0, tzinfo=UTC)) and not h.is_open(datetime(2026, 3, 8, 8, 0, tzinfo=UTC))


def test_new_york_opening_inside_the_skipped_hour_opens_when_clocks_say_so():
    h = hours({"sun": [["02:30", "05:00"]]}, timezone="America/New_York")
    # 02:30 does not exist that day; read as 02:30 EST = 03:30 EDT.
    assert not h.is_open(local(NEW_YORK, 2026, 3, 8, 3, 29))
    assert h.is_open(local(NEW_YORK, 2026, 3, 8, 3, 30))
    assert h.next_opening(local(NEW_YORK, 2026, 3, 8, 0, 0)) == local(NEW_YORK, 2026, 3, 8, 3, 30)


def test_new_york_fall_back_repeated_hour_counts_both_times():
    # 2026-11-01: clocks go back from 02:00 EDT to 01:00 EST; 01:00-01:59 happens twice.
    h = hours({"sun": [["00:00", "03:00"]]}, timezone="America/New_York")
    assert h.is_open(local(NEW_YORK, 2026, 11, 1, 1, 30, fold=0))
    assert h.is_open(local(NEW_YORK, 2026, 11, 1, 1, 30, fold=1))
    assert not h.is_open(local(NEW_YORK, 2026, 11, 1, 3, 0))
    # Four real hours: 04:00 UTC to 08:00 UTC.
    assert h.is_open(datetime(2026, 11, 1, 7, 59, tzinfo=UTC)) and not h.is_open(datetime(2026, 11, 1, 8, tzinfo=UTC))


def test_moscow_last_summer_time_change_2010():
    # 2010-03-28: Moscow clocks went from 02:00 MSK (UTC+3) to 03:00 MSD (UTC+4).
    h = hours({"sun": [["01:00", "05:00"]]}, timezone="Europe/Moscow")
    assert h.is_open(datetime(2010, 3, 27, 22, 30, tzinfo=UTC))  # 01:30 MSK
    assert h.is_open(datetime(2010, 3, 28, 0, 30, tzinfo=UTC))  # 04:30 MSD
    assert not h.is_open(datetime(2010, 3, 28, 1, 0, tzinfo=UTC))  # 05:00 MSD


def test_moscow_clocks_back_in_october_2014():
    # 2014-10-26: Moscow went from UTC+4 to UTC+3 at 02:00 (back to 01:00); the day has 25 hours.
    h = hours({"sun": [["00:00", "24:00"]]}, timezone="Europe/Moscow")
    assert h.is_open(datetime(2014, 10, 25, 20, 0, tzinfo=UTC))  # 00:00 MSK+4 Sunday
    assert h.is_open(datetime(2014, 10, 26, 20, 59, tzinfo=UTC))  # 23:59 MSK Sunday
    assert not h.is_open(datetime(2014, 10, 26, 21, 0, tzinfo=UTC))  # Monday
    assert not h.is_open(datetime(2014, 10, 25, 19, 59, tzinfo=UTC))  # Saturday


def test_next_opening_is_now_when_open():
    h = hours({"mon": [["09:00", "18:00"]]})
    at = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert h.next_opening(at) == at


def test_next_opening_is_the_next_interval_start_in_the_time_zone():
    h = hours({day: [["09:00", "18:00"]] for day in WEEKDAYS}, timezone="Europe/Moscow")
    friday_evening = local(MOSCOW, 2026, 11, 27, 19, 0)
    assert h.next_opening(friday_evening) == local(MOSCOW, 2026, 11, 30, 9, 0)


def test_next_opening_skips_closed_dates_and_overnight_tails():
    h = hours({day: [["09:00", "18:00"]] for day in WEEKDAYS}, closed_dates=["2026-12-31", "2027-01-01"])
    assert h.next_opening(datetime(2026, 12, 30, 20, 0, tzinfo=UTC)) == datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


def test_next_opening_inside_an_overnight_interval_started_yesterday():
    h = hours({"sat": [["22:00", "03:00"]]})
    at = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)  # Sunday 01:00, inside Saturday's interval
    assert h.next_opening(at) == at


def test_next_opening_after_dst_change_keeps_local_time():
    h = hours({"mon": [["09:00", "17:00"]]}, timezone="America/New_York")
    # Friday before the March change (EST) -> Monday after it (EDT), still 09:00 local.
    assert h.next_opening(local(NEW_YORK, 2026, 3, 6, 18, 0)) == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)


def test_next_opening_is_none_when_nothing_ever_opens():
    assert hours({}).next_opening(datetime(2026, 1, 1, tzinfo=UTC)) is None


def test_clean_refuses_bad_time_zone_weekly_and_dates():
    with pytest.raises(ValidationError) as caught:
        hours({"mon": [["9:00", "18:00"]], "someday": []}, timezone="Mars/Olympus", closed_dates=["31.12.2026"]).clean()
    errors = caught.value.message_dict
    assert set(errors) == {"timezone", "weekly", "closed_dates"}
    assert len(errors["weekly"]) == 2


def test_clean_accepts_24_00_end_and_refuses_24_00_start():
    hours({"mon": [["00:00", "24:00"]]}).clean()
    with pytest.raises(ValidationError):
        hours({"mon": [["24:00", "06:00"]]}).clean()
