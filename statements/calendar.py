"""The due-date calendar of a year (D17-R31), published at its start: every billing period with
its close, statement and due dates — as a table, JSON, or iCalendar (RFC 5545, `icalendar`) that
an importer's or broker's calendar application subscribes to, in English or French.

Deterministic: the same year and policy give the same bytes (event UIDs and stamps are derived
from the periods, not from the clock), so a re-published calendar replaces events rather than
adding copies.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event

from ledger.calendar import Period

__all__ = ["calendar_table", "calendar_json", "calendar_ics"]

_WORDS = {
    "en": {"period": "period", "start": "start", "end": "end", "close": "close", "statement": "statement", "due": "due",
           "closes": "Billing period {name} closes", "statement_event": "Statement of account, period {name}",
           "due_event": "Payment due, period {name}", "name": "CBSA customs accounts: due dates {year}",
           "detail": "Billing period {start} to {end}. Statement {statement}; payment due {due} (D17-5-1)."},
    "fr": {"period": "période", "start": "début", "end": "fin", "close": "fermeture", "statement": "relevé", "due": "échéance",
           "closes": "Fermeture de la période de facturation {name}", "statement_event": "Relevé de compte, période {name}",
           "due_event": "Date d'échéance du paiement, période {name}", "name": "ASFC, comptes de douane : dates d'échéance {year}",
           "detail": "Période de facturation du {start} au {end}. Relevé le {statement}; paiement exigible le {due} (D17-5-1)."},
}


def _rows(periods: list[Period]) -> list[dict[str, str]]:
    return [{"period": p.name, "start": p.start.isoformat(), "end": p.end.isoformat(), "close": p.close_date.isoformat(),
             "statement": p.statement_date.isoformat(), "due": p.due_date.isoformat()} for p in periods]


def calendar_table(periods: list[Period], lang: str = "en") -> str:
    """The calendar as aligned text, one period a line."""
    words = _WORDS[lang]
    keys = ["period", "start", "end", "close", "statement", "due"]
    lines = ["  ".join(f"{words[k]:<10}" for k in keys).rstrip()]
    lines += ["  ".join(f"{row[k]:<10}" for k in keys).rstrip() for row in _rows(periods)]
    return "\n".join(lines) + "\n"


def calendar_json(periods: list[Period]) -> str:
    """The calendar as JSON: a list of periods, dates in ISO 8601."""
    return json.dumps(_rows(periods), indent=2) + "\n"


def calendar_ics(periods: list[Period], year: int, lang: str = "en", calendar_month: bool = False) -> bytes:
    """The calendar as iCalendar: three all-day events per period (close, statement, due date).
    The calendar-month cycle's events (`calendar_month`) have UIDs of their own, so a client
    subscribed to both calendars keeps both sets of events."""
    cycle = "-calendar-month" if calendar_month else ""
    words = _WORDS[lang]
    cal = Calendar()
    cal.add("prodid", "-//CBSA CARM payments engine//due-date calendar//" + lang.upper())
    cal.add("version", "2.0")
    cal.add("x-wr-calname", words["name"].format(year=year))
    stamp = datetime(year, 1, 1, tzinfo=UTC)
    for period in periods:
        detail = words["detail"].format(start=period.start, end=period.end, statement=period.statement_date, due=period.due_date)
        for kind, day, summary in (("close", period.close_date, words["closes"]), ("statement", period.statement_date, words["statement_event"]),
                                   ("due", period.due_date, words["due_event"])):
            event = Event()
            event.add("uid", f"carm-{period.name}{cycle}-{kind}-{lang}@cbsa-asfc.gc.ca")
            event.add("dtstamp", stamp)
            event.add("dtstart", day)
            event.add("dtend", day + timedelta(days=1))
            event.add("summary", summary.format(name=period.name))
            event.add("description", detail)
            event.add("transp", "TRANSPARENT")
            cal.add_component(event)
    return cal.to_ical()
