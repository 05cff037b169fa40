"""The `carm` command.

    carm db upgrade
    carm edi validate FILE --out DIR [--json]
    carm partners load FILE
    carm reference load FILE
    carm declarations load FILE
    carm payments ingest FILE --out DIR [--json]
    carm payments cheque NUMBER --payer BN9 --line RM15=AMOUNT[:ASEC] [--kind SOA|ADV|INT] [--certified]
    carm payments cheque-returned NUMBER --payer BN9 --reason TEXT [--on DATE]
    carm payments card RM15 AMOUNT --payer BN9 --token TOKEN [--reference REF]
    carm payments release TRANSACTION_NUMBER --method CARD|INTERAC|CHK [--payer BN9]
    carm account show RM15 [--as-of DATE] [--json]
    carm period close PERIOD [--calendar-month]
    carm collections run --date DATE
    carm corrections request RM15 --entry KEY [--amount D.CC] --reason TEXT [--by NAME]
    carm corrections approve|reject ID [--note TEXT] [--by NAME]
    carm corrections list [--rm15 RM15] [--status S] [--json]
    carm pad enrol RM15 --payer BN9 --bank REF [--from DATE]
    carm pad cancel RM15 [--on DATE]
    carm pad list [--json]
    carm ledger check
    carm notices daily --date DATE --out DIR [--formats xml,html,pdf]
    carm notices list [--from DATE] [--to DATE] [--page N] [--bn9 BN9] [--json]
    carm notices send --date DATE --outbox DIR
    carm statements run --period YYYY-MM --out DIR [--formats xml,html,pdf] [--calendar-month]
    carm reports balance RM15 [--as-of DATE] [--format xml|csv|pdf] [--lang en|fr] [--output PATH]
    carm reports monitoring --period YYYY-MM [--recipient NAME]

Exit codes (all commands that judge files): 0 every set accepted, 1 something
rejected or set aside, 2 the file is unusable or the arguments are wrong.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import structlog
from sqlalchemy.exc import OperationalError

from core import clock
from core.errors import CarmError
from core.files import atomic_write
from core.identifiers import asec_problem, bn9_problem, rm15_problem
from core.money import format_cents, parse_amount
from core.problems import Problem
from core.settings import Settings
from edi.limits import ENGINES

from . import db, logs
from .runtime import edi_limits, open_runtime

__all__ = ["main"]

EXIT_OK, EXIT_REJECTED, EXIT_UNUSABLE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; keep its wording, drop the traceback risk
        self.print_usage(sys.stderr)
        print(f"carm: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_UNUSABLE)


def _epilog() -> str:
    """Exit codes, and the environment variables with their defaults (the table of `core.settings`)."""
    import core.settings

    table = core.settings.__doc__.split("=========================  ")
    variables = "\n".join(line for line in "".join(table[2:-1]).splitlines()[1:] if line.strip() and not line.startswith("="))
    return ("exit codes: 0 done, every set accepted; 1 done, something rejected, set aside or not loaded (the output says\n"
            "what); 2 nothing done: a file or an argument is unusable, or the database is missing or not at the schema\n\n"
            f"environment (defaults in brackets):\n{variables}")


def _engine_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=ENGINES, help="what checks each set against the guide: the tables compiled from "
                        "the map (default, CARM_EDI_ENGINE) or pyx12's walker; the same answers")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="carm", description="CARM payments engine: EDI 820 intake, acknowledgements, ledger.",
                     epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="area", required=True, parser_class=_Parser)

    edi = sub.add_parser("edi", help="EDI files").add_subparsers(dest="command", required=True, parser_class=_Parser)
    validate = edi.add_parser("validate", help="validate an 820 file and write its 997 / TA1 / 824")
    validate.add_argument("file", type=Path)
    validate.add_argument("--out", type=Path, required=True, help="folder for the acknowledgements")
    validate.add_argument("--json", action="store_true", help="one JSON object per set instead of a line")
    _engine_option(validate)
    validate.set_defaults(func=_edi_validate)

    dbp = sub.add_parser("db", help="the database").add_subparsers(dest="command", required=True, parser_class=_Parser)
    up = dbp.add_parser("upgrade", help="create or migrate the schema (idempotent)")
    up.set_defaults(func=_db_upgrade)

    part = sub.add_parser("partners", help="the trading-partner registry").add_subparsers(dest="command", required=True, parser_class=_Parser)
    load = part.add_parser("load", help="load the registry of FIs, brokers and importers exchanging files (CSV, fixtures/partners.csv)")
    load.add_argument("file", type=Path)
    load.set_defaults(func=_partners_load)

    ref = sub.add_parser("reference", help="reference data").add_subparsers(dest="command", required=True, parser_class=_Parser)
    load = ref.add_parser("load", help="load businesses, accounts, securities, relationships, agents, rates (JSON)")
    load.add_argument("file", type=Path)
    load.set_defaults(func=_reference_load)

    decl = sub.add_parser("declarations", help="the declarations feed").add_subparsers(dest="command", required=True, parser_class=_Parser)
    load = decl.add_parser("load", help="post accounted declarations, reassessments and refunds (CSV)")
    load.add_argument("file", type=Path)
    load.set_defaults(func=_declarations_load)

    pay = sub.add_parser("payments", help="EDI 820 payments").add_subparsers(dest="command", required=True, parser_class=_Parser)
    ingest = pay.add_parser("ingest", help="validate, acknowledge (997/TA1/824) and post an 820 file")
    ingest.add_argument("file", type=Path)
    ingest.add_argument("--out", type=Path, required=True, help="folder for the acknowledgements")
    ingest.add_argument("--json", action="store_true", help="one JSON object per set instead of a line")
    ingest.add_argument("--received-at", type=_datetime, help="receipt time (ISO 8601; default: the file's modification time)")
    _engine_option(ingest)
    ingest.set_defaults(func=_payments_ingest)
    cheque = pay.add_parser("cheque", help="enter a cheque received at headquarters (D17-R26): judged and posted as an 820 payment")
    cheque.add_argument("number", type=_cheque_number, help="the cheque's serial number")
    cheque.add_argument("--payer", required=True, type=_bn9, help="the payer's BN9 (written on the back of the cheque)")
    cheque.add_argument("--line", dest="lines", action="append", required=True, type=_cheque_line, metavar="RM15=AMOUNT[:ASEC]",
                        help="an account it pays and the amount for it (repeat for each account)")
    cheque.add_argument("--kind", choices=("SOA", "ADV", "INT"), default="SOA", help="statement, advance or interim payment (D17-R22)")
    cheque.add_argument("--asec", type=_asec, help="the payer's security account number, when it writes one")
    cheque.add_argument("--certified", action="store_true", help="a certified cheque (D17-R26)")
    cheque.add_argument("--received-at", type=_datetime, help="when it reached headquarters (ISO 8601; default: now)")
    cheque.set_defaults(func=_payments_cheque)
    returned = pay.add_parser("cheque-returned", help="a cheque the bank returned (D17-R26 c): its payment reversed, the payer told")
    returned.add_argument("number", type=_cheque_number, help="the cheque's serial number")
    returned.add_argument("--payer", required=True, type=_bn9, help="the payer's BN9")
    returned.add_argument("--on", type=_date, help="the day the bank returned it (default: today, Eastern)")
    returned.add_argument("--reason", required=True, help="the bank's reason (told to the payer)")
    returned.set_defaults(func=_payments_cheque_returned)
    card = pay.add_parser("card", help="a card payment for one program account (D17-R23: at most $4,999.99 a billing cycle)")
    card.add_argument("rm15", type=_rm15, help="the program account it pays")
    card.add_argument("amount", type=_amount, help="the amount, like 1234.56")
    card.add_argument("--payer", required=True, type=_bn9, help="the payer's BN9")
    card.add_argument("--token", required=True, help="the card's token at the processor (the fake processor declines tok_declined)")
    card.add_argument("--reference", type=_reference, help="the request's reference, its idempotency key (default: payer and time)")
    card.add_argument("--received-at", type=_datetime, help="when it was taken (ISO 8601; default: now)")
    card.set_defaults(func=_payments_card)
    release = pay.add_parser("release", help="pay an unsecured declaration at release, exactly what it owes (D17-R21)")
    release.add_argument("transaction_number", help="the declaration's 14-digit transaction number")
    release.add_argument("--method", required=True, choices=("CARD", "INTERAC", "CHK"), help="how it is paid at the port (D17-R23)")
    release.add_argument("--payer", type=_bn9, help="who pays (default: the importer)")
    release.add_argument("--received-at", type=_datetime, help="when it was paid (ISO 8601; default: now)")
    release.set_defaults(func=_payments_release)

    acct = sub.add_parser("account", help="customs accounts").add_subparsers(dest="command", required=True, parser_class=_Parser)
    show = acct.add_parser("show", help="balance, open items, credits, suspense and standing of an RM15 account")
    show.add_argument("rm15")
    show.add_argument("--as-of", type=_date, help="YYYY-MM-DD (default: today, Eastern)")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_account_show)

    period = sub.add_parser("period", help="billing periods").add_subparsers(dest="command", required=True, parser_class=_Parser)
    close = period.add_parser("close", help="offset credits, snapshot balances, disburse (YYYY-MM)")
    close.add_argument("period", type=_period)
    close.add_argument("--calendar-month", action="store_true", help="close the calendar month of the accounts billed so (on the 1st)")
    close.set_defaults(func=_period_close)

    cal = sub.add_parser("calendar", help="the due-date calendar of a year: each period's close, statement and due dates (D17-R31)")
    cal.add_argument("year", type=_year)
    cal.add_argument("--format", choices=("text", "json", "ics"), default="text", help="a table (default), JSON, or iCalendar")
    cal.add_argument("--lang", choices=("en", "fr"), default="en")
    cal.add_argument("--calendar-month", action="store_true", help="the periods of accounts billed by calendar month")
    cal.set_defaults(func=_calendar)

    intake = sub.add_parser("intake", help="payment files received").add_subparsers(dest="command", required=True, parser_class=_Parser)
    again = intake.add_parser("replay", help="send a quarantined file through intake again, judged afresh (its cause fixed first)")
    again.add_argument("partner", help="the partner's folder (its SFTP user), e.g. bankoftest")
    again.add_argument("name", help="the file's name in the partner's quarantine/")
    again.set_defaults(func=_intake_replay)

    susp = sub.add_parser("suspense", help="money set aside: list, apply to an account, return to the FI").add_subparsers(
        dest="command", required=True, parser_class=_Parser)
    listing = susp.add_parser("list", help="lines held in suspense, oldest first, with the age report")
    listing.add_argument("--all", action="store_true", help="also the lines already applied or returned")
    listing.add_argument("--as-of", type=_date, help="the day ages are counted to (default: today, Eastern)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=_suspense_list)
    apply = susp.add_parser("apply", help="apply a held line, whole, to a program account (an adjusting entry)")
    apply.add_argument("line", help="the line as `carm suspense list` names it: <FI>/<trace>/<line>")
    apply.add_argument("--to", dest="rm15", required=True, help="the RM15 program account to apply it to")
    apply.add_argument("--asec", help="only the debts secured by this security account")
    apply.add_argument("--note", required=True, help="why this account (kept in the journal and told to the payer)")
    apply.add_argument("--by", default=None, help="who decides (default: the login name)")
    apply.set_defaults(func=_suspense_apply)
    back = susp.add_parser("return", help="return a held line, whole, to the FI that sent it (an adjusting entry)")
    back.add_argument("line", help="<FI>/<trace>/<line>")
    back.add_argument("--reason", required=True, help="why (told to the payer)")
    back.add_argument("--by", default=None, help="who decides (default: the login name)")
    back.set_defaults(func=_suspense_return)

    corr = sub.add_parser("corrections", help="corrections of penalties, interest and fees (D17-R18, Annex E)").add_subparsers(
        dest="command", required=True, parser_class=_Parser)
    ask = corr.add_parser("request", help="record a holder's request to correct what an entry charged (reviewed by someone else)")
    ask.add_argument("rm15", help="the program account")
    ask.add_argument("--entry", required=True, help="the key of the entry that charged it, e.g. penalty:<RM15>:<due date>")
    ask.add_argument("--amount", type=_amount, help="dollars and cents to take back (default: all the entry still carries)")
    ask.add_argument("--reason", required=True, help="the holder's explanation and justification (Annex E §1)")
    ask.add_argument("--by", default=None, help="who records it (default: the login name)")
    ask.set_defaults(func=_corrections_request)
    ok = corr.add_parser("approve", help="approve a request: one adjusting entry naming the entry it corrects")
    ok.add_argument("id", type=_request_id, help="the request's number (`carm corrections list`)")
    ok.add_argument("--note", help="the reviewer's note")
    ok.add_argument("--by", default=None, help="who reviews (default: the login name); not who recorded it")
    ok.set_defaults(func=_corrections_approve)
    no = corr.add_parser("reject", help="refuse a request, with the reason told to the holder")
    no.add_argument("id", type=_request_id, help="the request's number")
    no.add_argument("--note", required=True, help="why (told to the holder)")
    no.add_argument("--by", default=None, help="who reviews (default: the login name); not who recorded it")
    no.set_defaults(func=_corrections_reject)
    listing = corr.add_parser("list", help="correction requests, oldest first")
    listing.add_argument("--rm15", help="only this program account's")
    listing.add_argument("--status", choices=("requested", "approved", "rejected"))
    listing.add_argument("--json", action="store_true", help="one JSON object per request")
    listing.set_defaults(func=_corrections_list)

    coll = sub.add_parser("collections", help="penalties, interest, arrears").add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = coll.add_parser("run", help="debit PAD agreements due, charge penalties and interest, raise arrears and security notices for a day")
    run.add_argument("--date", type=_date, required=True)
    run.set_defaults(func=_collections_run)

    pad = sub.add_parser("pad", help="pre-authorized debit agreements (D17-R23)").add_subparsers(
        dest="command", required=True, parser_class=_Parser)
    enrol = pad.add_parser("enrol", help="debit an account's statement balance on each due date from the payer's bank account")
    enrol.add_argument("rm15", type=_rm15)
    enrol.add_argument("--payer", required=True, type=_bn9, help="whose bank account is debited")
    enrol.add_argument("--bank", required=True, type=_reference, help="the agreement's reference at the payer's bank")
    enrol.add_argument("--from", dest="start", type=_date, help="the first day it may be debited (default: today, Eastern)")
    enrol.set_defaults(func=_pad_enrol)
    pad_cancel = pad.add_parser("cancel", help="end an account's agreement")
    pad_cancel.add_argument("rm15", type=_rm15)
    pad_cancel.add_argument("--on", type=_date, help="the last day it may be debited (default: today, Eastern)")
    pad_cancel.set_defaults(func=_pad_cancel)
    pad_list = pad.add_parser("list", help="every agreement, by account")
    pad_list.add_argument("--json", action="store_true", help="one JSON object per agreement")
    pad_list.set_defaults(func=_pad_list)

    led = sub.add_parser("ledger", help="the books").add_subparsers(dest="command", required=True, parser_class=_Parser)
    check = led.add_parser("check", help="prove every entry balanced and every cached balance equal to the journal")
    check.set_defaults(func=_ledger_check)

    notices = sub.add_parser("notices", help="daily notices and notices (avis)").add_subparsers(dest="command", required=True, parser_class=_Parser)
    daily = notices.add_parser("daily", help="write the Daily Notices issued on DATE: XML (under XSD), HTML, PDF")
    daily.add_argument("--date", type=_date, required=True, help="issue date YYYY-MM-DD; reports the business day before it")
    daily.add_argument("--out", type=Path, required=True, help="folder for the documents")
    daily.add_argument("--formats", type=_formats, default=("xml", "html", "pdf"), help="comma-separated: xml,html,pdf")
    daily.set_defaults(func=_notices_daily)
    listing = notices.add_parser("list", help="notices (avis), newest first, 10 per page (G-R1)")
    listing.add_argument("--from", dest="date_from", type=_date, help="first notice date YYYY-MM-DD")
    listing.add_argument("--to", dest="date_to", type=_date, help="last notice date YYYY-MM-DD")
    listing.add_argument("--page", type=_page, default=1, help="page number, from 1")
    listing.add_argument("--bn9", help="only this business's notices")
    listing.add_argument("--json", action="store_true", help="one JSON object per notice")
    listing.set_defaults(func=_notices_list)
    send = notices.add_parser(
        "send", help="record relationship-change notices, then e-mail the day's notices (.eml into OUTBOX; SMTP if CARM_SMTP_URL)"
    )
    send.add_argument("--date", type=_date, required=True)
    send.add_argument("--outbox", type=Path, required=True)
    send.set_defaults(func=_notices_send)

    stm = sub.add_parser("statements", help="statements of account").add_subparsers(dest="command", required=True, parser_class=_Parser)
    run_soa = stm.add_parser("run", help="write every Statement of Account of a billing period: XML (under XSD), HTML, PDF")
    run_soa.add_argument("--period", type=_period, required=True, help="YYYY-MM, the month the billing period ends in")
    run_soa.add_argument("--out", type=Path, required=True, help="folder for the documents")
    run_soa.add_argument("--formats", type=_formats, default=("xml", "html", "pdf"), help="comma-separated: xml,html,pdf")
    run_soa.add_argument("--calendar-month", action="store_true", help="the statements of the accounts billed by calendar month")
    run_soa.set_defaults(func=_statements_run)

    rep = sub.add_parser("reports", help="reports an account holder asks for (D17-R17)").add_subparsers(
        dest="command", required=True, parser_class=_Parser)
    bal = rep.add_parser("balance", help="importer account balance overview: every declaration in detail as of a day")
    bal.add_argument("rm15")
    bal.add_argument("--as-of", type=_date, help="YYYY-MM-DD: what was posted by the end of that day (default: today, Eastern)")
    bal.add_argument("--format", choices=("xml", "csv", "pdf"), default="xml", help="XML under the XSD (default), CSV or PDF")
    bal.add_argument("--lang", choices=("en", "fr"), help="language (default: the importer's)")
    bal.add_argument("--output", type=Path, help="file to write (default: standard output, for xml and csv)")
    bal.set_defaults(func=_reports_balance)
    mon = rep.add_parser("monitoring", help="the monitoring report (Annex D) of a period, encrypted to each recipient's age key, "
                                            "into its outbox")
    mon.add_argument("--period", type=_period, required=True, help="YYYY-MM, the billing period")
    mon.add_argument("--recipient", help="only this registered recipient")
    mon.set_defaults(func=_reports_monitoring)

    portal = sub.add_parser("portal", help="the client portal (G-R1…G-R5)").add_subparsers(
        dest="command", required=True, parser_class=_Parser)
    serve = portal.add_parser("serve", help="serve the portal over HTTP (pages and JSON API) until interrupted")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8090, help="port (default 8090)")
    serve.add_argument("--insecure-cookies", action="store_true",
                       help="cookies without the Secure flag: plain HTTP, for a browser on another host than loopback")
    serve.set_defaults(func=_portal_serve)
    unlock = portal.add_parser("unlock", help="unlock a business's enrolment locked by 10 wrong proof answers (G-R2)")
    unlock.add_argument("bn9", type=_bn9)
    unlock.set_defaults(func=_portal_unlock)
    unlock_user = portal.add_parser("unlock-user", help="clear a user's failed sign-ins and lock")
    unlock_user.add_argument("username")
    unlock_user.set_defaults(func=_portal_unlock_user)
    add_user = portal.add_parser("add-user", help="register a user enrolled in a business by an operator (no proof questions): "
                                                  "its password from standard input, or generated and printed once")
    add_user.add_argument("username")
    add_user.add_argument("--business", type=_bn9, required=True, help="the BN9 the user acts for")
    add_user.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add_user.set_defaults(func=_portal_add_user)
    return parser


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a YYYY-MM-DD date") from None


def _datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date and time") from None
    return value if value.tzinfo else value.replace(tzinfo=clock.EASTERN)


def _period(text: str) -> str:
    try:
        year, month = text.split("-")
        if len(year) == 4 and len(month) == 2 and 1 <= int(month) <= 12:
            return text
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{text!r} is not a YYYY-MM period")


def _amount(text: str) -> int:
    from core.money import parse_amount

    cents = parse_amount(text)
    if cents is None or cents <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount in dollars and cents above zero")
    return cents


def _request_id(text: str) -> int:
    if text.isascii() and text.isdigit() and int(text) >= 1:
        return int(text)
    raise argparse.ArgumentTypeError(f"{text!r} is not a request number (as `carm corrections list` shows)")


def _year(text: str) -> int:
    if text.isascii() and text.isdigit() and len(text) == 4 and int(text) >= 1900:
        return int(text)
    raise argparse.ArgumentTypeError(f"{text!r} is not a year (YYYY)")


def _page(text: str) -> int:
    if text.isascii() and text.isdigit() and int(text) >= 1:
        return int(text)
    raise argparse.ArgumentTypeError(f"{text!r} is not a page number (1, 2, 3…)")


def _runtime(args: argparse.Namespace):
    """The runtime of a command: the database checked at the engine's schema, never migrated. Where
    the database is goes to stderr first, so an answer is never read from a database the user did
    not mean (the embedded default `./var/carm.db` when CARM_HOME and CARM_DATABASE_URL are unset)."""
    if logs.renders_json(args.settings):  # stderr is a stream of JSON events: the note is one of them
        structlog.get_logger("carm.cli").info("carm.database", url=db.shown_url(args.settings))
    else:
        print(f"carm: database {db.shown_url(args.settings)}", file=sys.stderr)
    return open_runtime(args.settings)


def _reference_load(args: argparse.Namespace) -> int:
    from store.ledger import load_reference

    if _missing(args.file):
        return EXIT_UNUSABLE
    with _runtime(args) as runtime, runtime.engine.begin() as conn:
        report = load_reference(conn, args.file)
    for section, count in report.loaded.items():
        print(f"{section}: {count} loaded")
    for problem in report.problems:
        print(f"not loaded: {problem}", file=sys.stderr)
    return EXIT_REJECTED if report.problems else EXIT_OK


def _missing(path: Path) -> bool:
    """True (and says so on stderr) when `path` is not a readable file."""
    stream, problem = _open_input(path)
    if problem:
        print(f"carm: {problem}", file=sys.stderr)
        return True
    stream.close()
    return False


def _partners_load(args: argparse.Namespace) -> int:
    from store.partners import save_registry
    from transport.partners import load_partners

    if _missing(args.file):
        return EXIT_UNUSABLE
    try:
        registry, problems = load_partners(args.file)
    except UnicodeDecodeError:
        print(f"carm: {args.file}: not UTF-8 text", file=sys.stderr)
        return EXIT_UNUSABLE
    with _runtime(args) as runtime, runtime.engine.begin() as conn:
        loaded = save_registry(conn, registry)
    print(f"trading partners: {loaded} loaded")
    for problem in problems:
        print(f"not loaded: {problem}", file=sys.stderr)
    return EXIT_REJECTED if problems else EXIT_OK


def _declarations_load(args: argparse.Namespace) -> int:
    from store.ledger import load_declarations

    if _missing(args.file):
        return EXIT_UNUSABLE
    with _runtime(args) as runtime, runtime.engine.begin() as conn:
        report = load_declarations(conn, args.file, policy=runtime.policy, at=clock.now())
    print(f"declarations posted: {report.posted}, adjustments posted: {report.adjustments}, already posted: {report.already}")
    for problem in report.problems:
        print(f"not posted: {problem}", file=sys.stderr)
    return EXIT_REJECTED if report.problems else EXIT_OK


@contextlib.contextmanager
def _progress(total: int):
    """A progress bar on stderr for reading a file of `total` bytes — only on a terminal, and only
    for a file big enough to take a while; else nothing (yields None)."""
    if total < _PROGRESS_FROM or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    with Progress("validating", BarColumn(), DownloadColumn(), TimeRemainingColumn(), transient=True,
                  console=_stderr_console()) as bar:
        task = bar.add_task("validate", total=total)
        yield lambda done: bar.update(task, completed=done)


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


#: Files from this size get a progress bar on a terminal (about a second of work).
_PROGRESS_FROM = 256 * 1024


def _too_large(path: Path, settings: Settings) -> bool:
    """True (and says so on stderr) when an inbound file is over `CARM_MAX_FILE_BYTES`: it is not read."""
    size = path.stat().st_size
    if size <= settings.max_file_bytes:
        return False
    print(f"carm: {path}: {size:,} bytes, more than the {settings.max_file_bytes:,} one file may hold (CARM_MAX_FILE_BYTES): "
          "not read; split its payments over several files", file=sys.stderr)
    return True


def _payments_ingest(args: argparse.Namespace) -> int:
    from .intake import ingest

    if _missing(args.file) or _too_large(args.file, args.settings):
        return EXIT_UNUSABLE
    args.out.mkdir(parents=True, exist_ok=True)
    received_at = args.received_at or datetime.fromtimestamp(args.file.stat().st_mtime, clock.EASTERN)
    with _runtime(args) as runtime, _progress(args.file.stat().st_size) as progress:
        done = ingest(runtime.engine, args.file, args.file.name, received_at=received_at, policy=runtime.policy,
                      attempts=runtime.settings.ingest_attempts, limits=runtime.limits, progress=progress)
    written = _write_answers(done.outcome, args.out)
    _print_outcome(done.outcome, args, written)
    for p in done.posted:
        if not args.json:
            print(f"posted {p.trace}: {p.status}, applied {_money(p.applied_cents)}, left as credit "
                  f"{_money(p.credit_cents)}, in suspense {_money(p.suspense_cents)}")
    return done.outcome.exit_code


def _cheque_line(text: str) -> tuple[str, int, str | None]:
    account, _, rest = text.partition("=")
    amount, _, asec = rest.partition(":")
    cents = parse_amount(amount)
    if not account or cents is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not RM15=AMOUNT[:ASEC] (an amount like 1234.56)")
    problem = rm15_problem(account) or (asec_problem(asec) if asec else None)
    if problem:
        raise argparse.ArgumentTypeError(f"{text!r}: {problem}")
    return account, cents, asec or None


def _bn9(text: str) -> str:
    problem = bn9_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"{text!r}: {problem}")
    return text


def _asec(text: str) -> str:
    problem = asec_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"{text!r}: {problem}")
    return text


def _rm15(text: str) -> str:
    problem = rm15_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"{text!r}: {problem}")
    return text


def _amount(text: str) -> int:
    cents = parse_amount(text)
    if cents is None or cents <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount above zero, like 1234.56")
    return cents


def _reference(text: str) -> str:
    if not (text.isascii() and text.isprintable() and " " not in text and 1 <= len(text) <= 30):
        raise argparse.ArgumentTypeError(f"{text!r} is not a reference (1 to 30 characters, no spaces)")
    return text


def _cheque_number(text: str) -> str:
    if not (text.isascii() and text.isdigit() and 1 <= len(text) <= 20):
        raise argparse.ArgumentTypeError(f"{text!r} is not a cheque serial number (1 to 20 digits)")
    return text


def _payments_cheque(args: argparse.Namespace) -> int:
    from ledger.channels import Cheque
    from store.channels import receive_cheque

    cheque = Cheque(number=args.number, payer_bn9=args.payer, kind=args.kind, lines=tuple(args.lines),
                    received_at=args.received_at or clock.now(), certified=args.certified, payer_asec=args.asec)
    with _runtime(args) as runtime, runtime.engine.begin() as conn:
        done = receive_cheque(conn, cheque, policy=runtime.policy)
    if done.posted is None:
        print(f"cheque {cheque.trace} was entered before ({done.earlier_status}): nothing done")
        return EXIT_OK if done.earlier_status == "posted" else EXIT_REJECTED
    if done.verdict.refusals:
        print(f"cheque {cheque.trace} refused ({done.posted.status}), return it to the payer:")
        for finding in done.verdict.refusals:
            print(f"  {finding.message} ({finding.rule})")
        return EXIT_REJECTED
    p = done.posted
    print(f"cheque {cheque.trace}: {p.status}, applied {_money(p.applied_cents)}, left as credit {_money(p.credit_cents)}, "
          f"in suspense {_money(p.suspense_cents)}, administrative fee {_money(done.fee_cents)}")
    for lv in done.verdict.lines:
        for finding in lv.findings:
            print(f"  line {lv.line.number} ({lv.line.rm15}) held in suspense: {finding.message}")
    return EXIT_OK if done.verdict.code == "TA" else EXIT_REJECTED


def _payments_cheque_returned(args: argparse.Namespace) -> int:
    from store.channels import return_cheque

    with _runtime(args) as runtime, runtime.engine.begin() as conn:
        done = return_cheque(conn, args.payer, args.number, day=args.on or clock.now().astimezone(clock.EASTERN).date(),
                             reason=args.reason, policy=runtime.policy, at=clock.now())
    if isinstance(done, Problem):
        print(f"cheque {args.payer}-{args.number} not returned: {done.message}")
        return EXIT_REJECTED
    print(f"cheque {done.trace} returned: reversed {_money(done.reversed_cents)}, from suspense {_money(done.suspense_cents)}, "
          f"returned cheque fee {_money(done.fee_cents)}")
    if done.certified_since:
        print(f"  from {done.certified_since} every cheque of {args.payer} must be certified (D17-R26)")
    return EXIT_OK


def _payments_card(args: argparse.Namespace) -> int:
    from .cards import FakeCardProcessor, pay_by_card

    at = args.received_at or clock.now()
    reference = args.reference or f"{args.payer}-{at.astimezone(clock.EASTERN):%Y%m%d%H%M%S}"
    with _runtime(args) as runtime, runtime.engine.begin() as conn:
        done = pay_by_card(conn, args.rm15, args.amount, payer_bn9=args.payer, token=args.token, reference=reference, received_at=at,
                           processor=FakeCardProcessor(), policy=runtime.policy)
    request = done.request
    if not done.new:
        print(f"card payment {reference} was requested before ({request.status}"
              f"{' ' + request.authorisation if request.authorisation else ''}): nothing done")
        return EXIT_OK if request.status == "authorised" else EXIT_REJECTED
    if request.status == "authorised":
        print(f"card payment {reference}: authorised {request.authorisation}, {_money(request.amount_cents)} posted to {request.rm15}")
        return EXIT_OK
    print(f"card payment {reference} {request.status}" + (", no card charged:" if request.status == "refused" else ":"))
    for reason in done.reasons:
        print(f"  {reason}")
    return EXIT_REJECTED


def _payments_release(args: argparse.Namespace) -> int:
    from store.channels import pay_at_release

    with _runtime(args) as runtime, runtime.engine.begin() as conn:
        done = pay_at_release(conn, args.transaction_number, method=args.method, received_at=args.received_at or clock.now(),
                              policy=runtime.policy, payer_bn9=args.payer)
    if isinstance(done, Problem):
        print(f"declaration {args.transaction_number} not paid at release: {done.message}")
        return EXIT_REJECTED
    if done.posted is None:
        print(f"declaration {args.transaction_number} was paid at release before ({done.earlier_status}): nothing done")
        return EXIT_OK
    print(f"declaration {args.transaction_number} paid at release by {args.method}: {_money(done.posted.applied_cents)} "
          f"(trace {done.posted.trace})")
    return EXIT_OK


def _money(cents: int) -> str:
    return format_cents(cents)


def _account_show(args: argparse.Namespace) -> int:
    from store.ledger import account_view

    as_of = args.as_of or clock.now().date()
    with _runtime(args) as runtime, runtime.engine.begin() as conn:
        view = account_view(conn, args.rm15, as_of)
    if view is None:
        print(f"carm: {args.rm15}: no such program account", file=sys.stderr)
        return EXIT_UNUSABLE
    if args.json:
        print(json.dumps(view.as_dict(), sort_keys=True))
        return EXIT_OK
    print(f"{view.rm15}  {view.name}  ({view.status})  as of {view.as_of}")
    print(f"balance {_money(view.balance_cents)}   overdue {_money(view.overdue_cents)}   "
          f"{'in good standing' if view.good_standing else 'NOT in good standing'}")
    if view.measures:
        m = view.measures
        claims = "".join(f"; {_money(c.claim_cents)} claimed against security {c.asec}" for c in m.claims)
        print(f"RELEASE HOLD since {m.since} (D17-R38): further release may be refused, duties and taxes due at release{claims}")
    print("open debts:")
    for it in view.debts:
        review = "  [under review]" if it.under_review else ""
        print(f"  due {str(it.due_date or '-'):<10}  {_money(it.balance_cents):>12}  {it.description}{review}")
    print("credits:")
    for it in view.credits:
        print(f"  {it.posted_on}  {_money(it.balance_cents):>12}  {it.description}")
    print("suspense (by trace):")
    for trace, cents in sorted(view.suspense_cents.items()):
        print(f"  {trace}  {_money(cents)}")
    return EXIT_OK


def _calendar(args: argparse.Namespace) -> int:
    """D17-R31: the year's calendar, from the policy alone (no database)."""
    from ledger.calendar import year_calendar
    from ledger.policy import load_policy
    from statements.calendar import calendar_ics, calendar_json, calendar_table

    periods = year_calendar(args.year, load_policy(args.settings.policy_file), args.calendar_month)
    if args.format == "ics":
        text = calendar_ics(periods, args.year, args.lang, args.calendar_month).decode("utf-8")  # CRLF lines, as RFC 5545 wants
    else:
        text = calendar_json(periods) if args.format == "json" else calendar_table(periods, args.lang)
    sys.stdout.write(text)
    return EXIT_OK


def _period_close(args: argparse.Namespace) -> int:
    from store.ledger import close_period

    with _runtime(args) as runtime, runtime.engine.begin() as conn:
        report = close_period(conn, args.period, policy=runtime.policy, at=clock.now(), calendar_month=args.calendar_month)
    name = f"{args.period} (calendar month)" if args.calendar_month else args.period
    if report.already_closed:
        print(f"period {name} was already closed: nothing changed")
        return EXIT_OK
    print(f"period {name} closed: {report.accounts} accounts, {report.offsets} offsets "
          f"({_money(report.offset_cents)}), {report.disbursements} disbursements ({_money(report.disbursed_cents)})")
    return EXIT_OK


def _collections_run(args: argparse.Namespace) -> int:
    from .jobs import collections_day

    with _runtime(args) as runtime, runtime.engine.begin() as conn:
        debits, report = collections_day(conn, args.date, runtime.policy)
    for debit in debits:
        print(f"pre-authorized debit {debit.rm15} (statement {debit.period}): {_money(debit.amount_cents)} "
              + ("debited" if debit.posted else f"not debited: {debit.refused}"))
    print(f"collections {args.date}: {report.penalties} penalties ({_money(report.penalty_cents)}), "
          f"{report.interest_items} interest charges ({_money(report.interest_cents)}), "
          f"{report.arrears_notices} arrears notices, {report.security_alerts} security alerts")
    if report.measures_started or report.measures_ended:
        print(f"standing {args.date}: {report.measures_started} accounts under the measures of D17-R38, "
              f"{report.measures_ended} brought current")
    for problem in report.problems:
        print(f"problem: {problem}")
    return EXIT_OK


def _intake_replay(args: argparse.Namespace) -> int:
    from .intake import replay

    with _runtime(args) as runtime:
        done = replay(runtime, args.partner, args.name)
    print(f"{args.partner}/{args.name} is back in the inbox ({done['answers_forgotten']} answers forgotten): "
          "the next intake run judges it afresh")
    return EXIT_OK


def _suspense_list(args: argparse.Namespace) -> int:
    from ledger.suspense import age_bucket, bucket_names
    from store.suspense import suspense_lines

    as_of = args.as_of or clock.now().date()
    with _runtime(args) as runtime, runtime.engine.connect() as conn:
        lines = suspense_lines(conn, held_only=not args.all)
    held = [line for line in lines if line.held]
    if args.json:
        for line in lines:
            print(json.dumps({"id": line.id, "fi": line.fi, "trace": line.trace, "line": line.line_no, "payer": line.payer_bn9,
                              "account": line.rm15, "asec": line.asec, "amount_cents": line.amount_cents, "payment_day": str(line.payment_day),
                              "age_days": (as_of - line.payment_day).days, "reason": line.reason, "resolution": line.resolution,
                              "resolved_on": str(line.resolved_on) if line.resolved_on else None}, sort_keys=True))
        return EXIT_OK
    print(f"held in suspense on {as_of}: {len(held)} lines, {_money(sum(line.amount_cents for line in held))}")
    for line in lines:
        state = "held" if line.held else f"{'applied' if line.resolution == 'SUSPENSE_APPLIED' else 'returned'} {line.resolved_on}"
        print(f"  {line.id:<40} payer {line.payer_bn9}  {_money(line.amount_cents):>12}  since {line.payment_day} "
              f"({(as_of - line.payment_day).days} days)  account {line.rm15}  {state}  {line.reason}")
    buckets = {}
    for line in held:
        count, cents = buckets.get(age_bucket(line.payment_day, as_of), (0, 0))
        buckets[age_bucket(line.payment_day, as_of)] = (count + 1, cents + line.amount_cents)
    print("age (days held): " + " · ".join(f"{name}: {buckets.get(name, (0, 0))[0]} lines {_money(buckets.get(name, (0, 0))[1])}"
                                           for name in bucket_names()))
    return EXIT_OK


def _today() -> date:
    return clock.now().astimezone(clock.EASTERN).date()


def _pad_enrol(args: argparse.Namespace) -> int:
    from store.pad import enrol

    with _runtime(args) as runtime, runtime.engine.begin() as conn:
        done = enrol(conn, args.rm15, args.payer, args.bank, start=args.start or _today(), at=clock.now())
    if isinstance(done, Problem):
        print(f"{args.rm15} not enrolled: {done.message}")
        return EXIT_REJECTED
    print(f"{done.rm15} enrolled: its statements debited from {done.payer_bn9}'s account {done.bank_reference} on their due dates "
          f"from {done.start}")
    return EXIT_OK


def _pad_cancel(args: argparse.Namespace) -> int:
    from store.pad import cancel

    with _runtime(args) as runtime, runtime.engine.begin() as conn:
        done = cancel(conn, args.rm15, last_day=args.on or _today())
    if isinstance(done, Problem):
        print(f"{args.rm15} not cancelled: {done.message}")
        return EXIT_REJECTED
    print(f"{done.rm15}: pre-authorized debits end after {done.end}")
    return EXIT_OK


def _pad_list(args: argparse.Namespace) -> int:
    from store.pad import agreements

    with _runtime(args) as runtime, runtime.engine.connect() as conn:
        found = agreements(conn)
    for a in found:
        if args.json:
            print(json.dumps({"rm15": a.rm15, "payer": a.payer_bn9, "bank_reference": a.bank_reference, "start": str(a.start),
                              "end": str(a.end) if a.end else None}))
        else:
            print(f"{a.rm15}  {a.payer_bn9}  {a.bank_reference}  {a.start} → {a.end or 'open'}")
    return EXIT_OK


def _operator(args: argparse.Namespace) -> str:
    import getpass

    return args.by or getpass.getuser()


def _act(args: argparse.Namespace, action, say) -> int:
    """An operator's action on the books, in one transaction: `action(runtime, conn)` gives what it
    did or the `Problem` that stopped it (on stderr, exit 1); `say(done)` is the line printed."""
    with _runtime(args) as runtime, runtime.engine.begin() as conn:
        done = action(runtime, conn)
    if isinstance(done, Problem):
        print(f"carm: {done}", file=sys.stderr)
        return EXIT_REJECTED
    print(say(done))
    return EXIT_OK


def _suspense_apply(args: argparse.Namespace) -> int:
    from store.suspense import apply

    return _act(args, lambda runtime, conn: apply(conn, args.line, args.rm15, args.asec, policy=runtime.policy, day=clock.now().date(),
                                                  at=clock.now(), by=_operator(args), note=args.note),
                lambda done: f"applied {done.id} ({_money(done.amount_cents)}) to {args.rm15}")


def _suspense_return(args: argparse.Namespace) -> int:
    from store.suspense import return_

    return _act(args, lambda _, conn: return_(conn, args.line, day=clock.now().date(), at=clock.now(), by=_operator(args),
                                              reason=args.reason),
                lambda done: f"returned {done.id} ({_money(done.amount_cents)}) to {done.fi}")


def _correction_line(r) -> str:
    review = f"  {r.status} by {r.reviewed_by} {r.reviewed_on}" if r.reviewed_by else f"  {r.status}"
    entry = f" -> {r.adjusting_entry_key}" if r.adjusting_entry_key else ""
    return (f"{r.id:>5}  {r.rm15}  {r.kind:<8} {_money(r.amount_cents):>12}  of {r.entry_key}  asked by {r.requested_by} "
            f"{r.requested_on}{review}{entry}  ({r.reason})")


def _corrections_request(args: argparse.Namespace) -> int:
    from store.corrections import request

    return _act(args, lambda _, conn: request(conn, args.rm15, args.entry, args.amount, reason=args.reason, by=_operator(args),
                                              at=clock.now()),
                lambda done: f"correction {done.id} requested: {_money(done.amount_cents)} of the {done.kind} charged by "
                             f"{done.entry_key}, awaiting another officer's review")


def _corrections_approve(args: argparse.Namespace) -> int:
    from store.corrections import approve

    return _act(args, lambda _, conn: approve(conn, args.id, by=_operator(args), day=clock.now().date(), at=clock.now(), note=args.note),
                lambda done: f"correction {done.id} approved: {_money(done.amount_cents)} taken back from {done.entry_key} by "
                             f"{done.adjusting_entry_key}")


def _corrections_reject(args: argparse.Namespace) -> int:
    from store.corrections import reject

    return _act(args, lambda _, conn: reject(conn, args.id, by=_operator(args), day=clock.now().date(), at=clock.now(), note=args.note),
                lambda done: f"correction {done.id} rejected: nothing posted; the holder is told why")


def _corrections_list(args: argparse.Namespace) -> int:
    from store.corrections import requests

    with _runtime(args) as runtime, runtime.engine.connect() as conn:
        found = requests(conn, rm15=args.rm15, status=args.status)
    for r in found:
        if args.json:
            print(json.dumps({"id": r.id, "rm15": r.rm15, "entry": r.entry_key, "item": r.item_key, "kind": r.kind,
                              "amount_cents": r.amount_cents, "reason": r.reason, "requested_by": r.requested_by,
                              "requested_at": r.requested_at.isoformat(), "status": r.status, "reviewed_by": r.reviewed_by,
                              "reviewed_at": r.reviewed_at.isoformat() if r.reviewed_at else None, "review_note": r.review_note,
                              "adjusting_entry": r.adjusting_entry_key}, sort_keys=True))
        else:
            print(_correction_line(r))
    if not args.json:
        print(f"{len(found)} correction requests")
    return EXIT_OK


def _ledger_check(args: argparse.Namespace) -> int:
    from store.journal import check_books

    with _runtime(args) as runtime, runtime.engine.begin() as conn:
        problems = check_books(conn)
    for problem in problems:
        print(problem)
    if problems:
        return EXIT_REJECTED
    print("ledger sound: every entry balanced, every cached balance equal to the journal")
    return EXIT_OK


def _db_upgrade(args: argparse.Namespace) -> int:
    engine = db.open_engine(args.settings, create=True)
    try:
        db.upgrade(engine)
        print(f"database at {db.describe(engine)} is up to date (revision {db.head_revision()})")
    finally:
        engine.dispose()
    return EXIT_OK


def _open_input(path: Path):
    if not path.exists():
        return None, f"{path}: no such file"
    if path.is_dir():
        return None, f"{path}: is a folder, not a file"
    try:
        return path.open("rb"), None
    except OSError as exc:
        return None, f"{path}: cannot be read ({exc.strerror})"


def _edi_validate(args: argparse.Namespace) -> int:
    from .intake import preview

    stream, problem = _open_input(args.file)
    if problem:
        print(f"carm: {problem}", file=sys.stderr)
        return EXIT_UNUSABLE
    if _too_large(args.file, args.settings):
        stream.close()
        return EXIT_UNUSABLE
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"carm: {args.out}: cannot create the output folder ({exc.strerror})", file=sys.stderr)
        return EXIT_UNUSABLE
    with stream:
        data = stream.read()
    if db.exists(args.settings):
        with _runtime(args) as runtime, _progress(len(data)) as progress:
            outcome = preview(runtime.engine, data, args.file.name, at=clock.now(), limits=runtime.limits, progress=progress).outcome
    else:
        print("carm: no database: the checks that need account data (duplicate trace, payer, accounts) were not made",
              file=sys.stderr)
        with _progress(len(data)) as progress:
            outcome = preview(None, data, args.file.name, at=clock.now(), limits=edi_limits(args.settings), progress=progress).outcome
    written = _write_answers(outcome, args.out)
    _print_outcome(outcome, args, written, dry_run=True)
    return outcome.exit_code


def _write_answers(outcome, out_dir: Path) -> list[Path]:
    """The outcome's 997 / TA1 / 824 into `out_dir`, each written atomically."""
    from .intake import ANSWER_KINDS

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in ANSWER_KINDS:
        if kind in outcome.documents:
            name, content = outcome.documents[kind]
            atomic_write(out_dir / name, content)
            written.append(out_dir / name)
    return written


def _print_outcome(outcome, args: argparse.Namespace, written: list[Path], *, dry_run: bool = False) -> None:
    if args.json:
        for line in outcome.envelope_lines():
            print(json.dumps({"file": args.file.name, "problem": line}))
        for row in outcome.report.sets:
            print(json.dumps({"file": args.file.name, **row}, sort_keys=True))
        return
    for line in outcome.envelope_lines():
        print(line)
    for line in outcome.report.lines(dry_run=dry_run):
        print(line)
    for path in written:
        print(f"wrote {path}")
    if outcome.replayed:
        print("same bytes as a file already received: acknowledgements returned again, nothing re-judged or re-posted")
    if dry_run:
        print("dry run: the answers an ingest would send now; nothing was posted or kept")


def _formats(text: str) -> tuple[str, ...]:
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    if not chosen or set(chosen) - {"xml", "html", "pdf"}:
        raise argparse.ArgumentTypeError(f"{text!r}: choose among xml, html, pdf (comma-separated)")
    return chosen


def _print_documents(report) -> None:
    print(report.summary_line())
    for output in report.outputs:
        print(f"{'wrote' if output.written else 'unchanged'} {output.path}")
    for problem in report.problems:
        print(f"note: {problem.message}", file=sys.stderr)


def _notices_daily(args: argparse.Namespace) -> int:
    from statements import issue_daily_notices

    with _runtime(args) as runtime, runtime.engine.connect() as conn:
        report = issue_daily_notices(conn, args.date, args.out, policy=runtime.policy, formats=args.formats)
    _print_documents(report)
    return EXIT_OK


def _statements_run(args: argparse.Namespace) -> int:
    from statements import run_statements

    with _runtime(args) as runtime, runtime.engine.connect() as conn:
        report = run_statements(conn, args.period, args.out, policy=runtime.policy, formats=args.formats,
                                calendar_month=args.calendar_month, workers=runtime.settings.statement_workers,
                                split_from=runtime.settings.statement_split_from)
    _print_documents(report)
    return EXIT_REJECTED if report.problems else EXIT_OK  # e.g. the period is not closed yet


def _reports_balance(args: argparse.Namespace) -> int:
    """D17-R17: the balance overview of one program account, as of the end of a day."""
    from statements.overview import balance_overview
    from statements.overview_render import overview_csv, overview_pdf, overview_xml

    if args.format == "pdf" and args.output is None:
        print("carm: a PDF is written to a file: give --output PATH", file=sys.stderr)
        return EXIT_UNUSABLE
    as_of = args.as_of or clock.now().date()
    with _runtime(args) as runtime, runtime.engine.connect() as conn:
        overview = balance_overview(conn, args.rm15, as_of)
        if args.format == "pdf":
            data = overview_pdf(overview, args.lang, paper=runtime.policy.paper)
        else:
            data = (overview_xml if args.format == "xml" else overview_csv)(overview, args.lang)
    if args.output is None:
        sys.stdout.write(data.decode("utf-8"))
        return EXIT_OK
    atomic_write(args.output, data)
    print(f"wrote {args.output}: {len(overview.declarations)} declarations, balance {_money(overview.balance_cents)}, "
          f"overdue {_money(overview.overdue_cents)} as of {as_of}")
    return EXIT_OK


def _reports_monitoring(args: argparse.Namespace) -> int:
    """Annex D: the period's monitoring reports, encrypted, into the recipients' outboxes."""
    from .reports import send_monitoring_reports

    with _runtime(args) as runtime:
        report = send_monitoring_reports(runtime, args.period, recipient=args.recipient)
    for line in report.lines():
        print(line)
    return EXIT_REJECTED if report.refused else EXIT_OK


def _notices_list(args: argparse.Namespace) -> int:
    from statements import list_notices

    with _runtime(args) as runtime, runtime.engine.connect() as conn:
        page = list_notices(conn, date_from=args.date_from, date_to=args.date_to, bn9=args.bn9, page=args.page)
    for e in page.entries:
        if args.json:
            print(json.dumps({"id": e.id, "date": str(e.date), "bn9": e.bn9, "account": e.account, "kind": e.kind, "type": e.type,
                              "urgent": e.urgent, "language": e.language, "subject": e.subject, "body": e.body}, sort_keys=True))
        else:
            print(f"{e.date}  {e.account:<15}  {e.type:<24}  {'! ' if e.urgent else ''}{e.subject}")
    if not args.json:
        print(f"page {page.page} of {page.pages} ({page.total} notices)")
    return EXIT_OK


def _notices_send(args: argparse.Namespace) -> int:
    from statements import send_day_notices

    with _runtime(args) as runtime, runtime.engine.begin() as conn:
        report = send_day_notices(conn, args.date, args.outbox, smtp_url=runtime.settings.smtp_url, sender=runtime.settings.notice_from)
    print(report.summary_line())
    for path in report.files:
        print(f"outbox {path}")
    for problem in report.problems:
        print(f"not sent: {problem.message}", file=sys.stderr)
    return EXIT_REJECTED if report.problems else EXIT_OK


def _portal_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .portal import PortalConfig, create_app

    with _runtime(args) as runtime:
        settings = runtime.settings
        config = PortalConfig(documents_dir=settings.documents_dir, uploads_dir=settings.home / "uploads", policy=runtime.policy,
                              secure_cookies=not args.insecure_cookies)
        shown = "localhost" if args.host == "127.0.0.1" else args.host  # a browser keeps Secure cookies on localhost
        print(f"portal: http://{shown}:{args.port}/", flush=True)
        uvicorn.run(create_app(runtime.engine, config), host=args.host, port=args.port, log_level="warning",
                    server_header=False, proxy_headers=False)
    return EXIT_OK


def _portal_unlock(args: argparse.Namespace) -> int:
    from store.portal import unlock_enrolment

    with _runtime(args) as runtime, runtime.engine.begin() as conn:
        found = unlock_enrolment(conn, args.bn9)
    if found is None:
        print(f"carm: business {args.bn9} never tried to enrol", file=sys.stderr)
        return EXIT_REJECTED
    failed, locked = found
    print(f"unlocked the enrolment of {args.bn9} ({'was locked, ' if locked else 'was not locked, '}{failed} failed attempts cleared)")
    return EXIT_OK


def _portal_unlock_user(args: argparse.Namespace) -> int:
    from store.portal import unlock_user

    with _runtime(args) as runtime, runtime.engine.begin() as conn:
        found = unlock_user(conn, args.username)
    if not found:
        print(f"carm: no portal user {args.username!r}", file=sys.stderr)
        return EXIT_REJECTED
    print(f"unlocked the portal user {args.username}")
    return EXIT_OK


def _portal_add_user(args: argparse.Namespace) -> int:
    import secrets

    from store.portal import business_role, create_user, enrol

    from .portal.security import Passwords, password_problems, username_problems
    from .portal.text import word

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = ""
        while password_problems(password, args.username):
            password = "Cx7" + secrets.token_urlsafe(9)[:12]
    problems = username_problems(args.username) + password_problems(password, args.username)
    if problems:
        print(f"carm: {' '.join(word(p, 'en') for p in problems)}", file=sys.stderr)
        return EXIT_REJECTED
    with _runtime(args) as runtime, runtime.engine.begin() as conn:
        if business_role(conn, args.business) is None:
            print(f"carm: no business {args.business}", file=sys.stderr)
            return EXIT_REJECTED
        user_id = create_user(conn, args.username, Passwords().hash(password), clock.now())
        if user_id is None:
            print(f"carm: the user name {args.username!r} is taken", file=sys.stderr)
            return EXIT_REJECTED
        role = enrol(conn, user_id, args.business)
    print(f"portal user {args.username} ({role} of {args.business})" + ("" if args.password_stdin else f", password {password}"))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        args.settings = Settings.from_env()
        if getattr(args, "engine", None):
            args.settings = replace(args.settings, edi_engine=args.engine)
        logs.configure(args.settings)
        return int(args.func(args))
    except CarmError as exc:
        print(f"carm: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except OperationalError as exc:  # the database is down, refuses us, or does not exist: a sentence, not a traceback
        reason = str(exc.orig or exc).strip().splitlines()[0]
        print(f"carm: cannot use the database {db.shown_url(args.settings)}: {reason}", file=sys.stderr)
        return EXIT_UNUSABLE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
