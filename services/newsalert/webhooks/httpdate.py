"""HTTP-date (RFC 9110 §5.6.7), parsed strictly: the three forms, ASCII, GMT only.

``email.utils.parsedate_to_datetime`` is meant for mail headers and accepts far more
(numeric zones, missing weekdays, two-digit years anywhere); a receiver's header is input
we do not control, so only what the RFC allows is read and anything else is ``None``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = "Mon|Tue|Wed|Thu|Fri|Sat|Sun"
_LONG_DAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_MONTH = "|".join(_MONTHS)
_TIME = r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
#: ``Sun, 06 Nov 1994 08:49:37 GMT`` (the form senders must use)
_IMF_FIXDATE = re.compile(
    rf"(?:{_DAYS}), (?P<day>[0-9]{{2}}) (?P<month>{_MONTH}) (?P<year>[0-9]{{4}}) {_TIME} GMT"
)
#: ``Sunday, 06-Nov-94 08:49:37 GMT`` (obsolete, still to be accepted)
_RFC850 = re.compile(
    rf"(?:{_LONG_DAYS}), (?P<day>[0-9]{{2}})-(?P<month>{_MONTH})-(?P<yy>[0-9]{{2}}) {_TIME} GMT"
)
#: ``Sun Nov  6 08:49:37 1994`` (obsolete C asctime, still to be accepted)
_ASCTIME = re.compile(
    rf"(?:{_DAYS}) (?P<month>{_MONTH}) (?P<day>[0-9]{{2}}| [0-9]) {_TIME} (?P<year>[0-9]{{4}})"
)


def parse_http_date(text: str, *, now: datetime) -> datetime | None:
    """The UTC instant of an HTTP-date, or ``None`` when ``text`` is not exactly one.

    ``now`` resolves the two-digit year of the RFC 850 form: a date that would be more
    than 50 years in the future means the most recent past year with those digits.
    """
    for pattern in (_IMF_FIXDATE, _RFC850, _ASCTIME):
        match = pattern.fullmatch(text)
        if match is not None:
            break
    else:
        return None
    fields = match.groupdict()
    if fields.get("yy") is not None:
        year = now.year - now.year % 100 + int(fields["yy"])
        if year > now.year + 50:
            year -= 100
    else:
        year = int(fields["year"])
    try:
        return datetime(
            year,
            _MONTHS.index(fields["month"]) + 1,
            int(fields["day"]),
            int(fields["hour"]),
            int(fields["minute"]),
            int(fields["second"]),
            tzinfo=UTC,
        )
    except ValueError:  # 31 Feb, hour 24, second 60, year 0
        return None
