"""The `carm` command.

    carm edi validate FILE --out DIR [--json]
    carm db upgrade

Exit codes (all commands that judge files): 0 every set accepted, 1 something
rejected or set aside, 2 the file is unusable or the arguments are wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import clock, db, logs

__all__ = ["main"]

EXIT_OK, EXIT_REJECTED, EXIT_UNUSABLE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; keep its wording, drop the traceback risk
        self.print_usage(sys.stderr)
        print(f"carm: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_UNUSABLE)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="carm", description="CARM payments engine: EDI 820 intake, acknowledgements, ledger.")
    sub = parser.add_subparsers(dest="area", required=True, parser_class=_Parser)

    edi = sub.add_parser("edi", help="EDI files").add_subparsers(dest="command", required=True, parser_class=_Parser)
    validate = edi.add_parser("validate", help="validate an 820 file and write its 997 / TA1 / 824")
    validate.add_argument("file", type=Path)
    validate.add_argument("--out", type=Path, required=True, help="folder for the acknowledgements")
    validate.add_argument("--json", action="store_true", help="one JSON object per set instead of a line")
    validate.set_defaults(func=_edi_validate)

    dbp = sub.add_parser("db", help="the database").add_subparsers(dest="command", required=True, parser_class=_Parser)
    up = dbp.add_parser("upgrade", help="create or migrate the schema (idempotent)")
    up.set_defaults(func=_db_upgrade)
    return parser


def _db_upgrade(args: argparse.Namespace) -> int:
    engine = db.make_engine()
    db.upgrade(engine)
    print(f"database at {engine.url.render_as_string(hide_password=True)} is up to date")
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
    from edi.pipeline import acknowledge_file, write_documents

    stream, problem = _open_input(args.file)
    if problem:
        print(f"carm: {problem}", file=sys.stderr)
        return EXIT_UNUSABLE
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"carm: {args.out}: cannot create the output folder ({exc.strerror})", file=sys.stderr)
        return EXIT_UNUSABLE
    engine = db.make_engine()
    db.upgrade(engine)
    with stream, engine.begin() as conn:
        outcome = acknowledge_file(stream, args.file.name, conn=conn, when=clock.now())
    written = write_documents(outcome, args.out)
    if args.json:
        for line in outcome.envelope_lines():
            print(json.dumps({"file": args.file.name, "problem": line}))
        for s in outcome.sets:
            print(json.dumps({"file": args.file.name, **s.summary()}, sort_keys=True))
    else:
        for line in outcome.envelope_lines():
            print(line)
        for s in outcome.sets:
            print(s.summary_line())
        for path in written:
            print(f"wrote {path}")
        if outcome.replayed:
            print("same bytes as a file already received: acknowledgements returned again, nothing re-judged")
    return outcome.exit_code


def main(argv: list[str] | None = None) -> int:
    logs.configure()
    args = _parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
