"""The `liaison-bot` command line.

run          the channels configured (Slack, Teams), or the terminal shell when there are none
serve        the HTTP server: /slack/events, /api/messages, /healthz
shell        chat with the bot in the terminal
sweep        run the scheduled jobs (nudges, escalations, input cycles) once
export       commitments, initiatives and RASCI as CSV or JSON
forget       delete what identifies a person, keeping others' records readable
detect       JSON Lines in ({"text": ...}), one JSON verdict per line out (kind, kinds, score)
train        refit this organisation's signal model on its answers to offers
db upgrade   apply the database migrations
"""

from __future__ import annotations

import argparse
import sys

# `--help` imports none of the bot, nor logging and typing (a dozen modules more than a bare
# interpreter loads): it answers in little more than Python's own start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from bot.config import Settings


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    from bot.config import SettingsError, load_settings
    from bot.observability import configure_logging
    from handlers.org import ConfigError

    try:
        settings = load_settings()
        fmt = settings.log_format or ("text" if sys.stderr.isatty() else "json")
        configure_logging(settings.log_level, fmt, settings.secrets())
        return args.func(settings, args) or 0
    except (SettingsError, ConfigError) as exc:
        print(f"liaison-bot: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from storage.db import database_away, describe_url

        if not database_away(exc):
            raise
        # One clear line, not a traceback: which database, and what it said.
        said = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        print(
            f"liaison-bot: the database at {describe_url(settings.database_url)} did not "
            f"answer ({said}). Check DATABASE_URL and that the server is up.",
            file=sys.stderr,
        )
        return 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="liaison-bot", description=__doc__.split("\n\n")[0])
    parser.set_defaults(func=cmd_run)
    sub = parser.add_subparsers(title="commands")
    sub.add_parser("run", help="run the configured channels, or the shell").set_defaults(
        func=cmd_run
    )
    serve = sub.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(func=cmd_serve)
    shell = sub.add_parser("shell", help="chat with the bot in the terminal")
    shell.add_argument("--as", dest="user", default=None, help="start as this @handle")
    shell.set_defaults(func=cmd_shell)
    sweep = sub.add_parser("sweep", help="run the scheduled jobs once")
    sweep.add_argument("--at", default=None, help="as of this ISO-8601 time (default: now)")
    sweep.add_argument(
        "--dry-run", action="store_true", help="say what would be sent; send nothing"
    )
    sweep.set_defaults(func=cmd_sweep)
    detect = sub.add_parser("detect", help="JSON Lines signal detection")
    detect.add_argument(
        "--shipped",
        action="store_true",
        help="use the model shipped with the bot, not this organisation's own",
    )
    detect.set_defaults(func=cmd_detect)
    train = sub.add_parser(
        "train", help="refit this organisation's signal model on its answers to offers"
    )
    train.add_argument(
        "--out", default=None, help="where to write the model (default: detection.model)"
    )
    train.set_defaults(func=cmd_train)
    export = sub.add_parser("export", help="export commitments, initiatives and RASCI")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument(
        "--out", default=None, help="folder for the CSV files, or file for JSON (default: stdout)"
    )
    export.set_defaults(func=cmd_export)
    forget = sub.add_parser("forget", help="delete what identifies a person")
    forget.add_argument("person", help="the person's @handle")
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    forget.set_defaults(func=cmd_forget)
    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(title="db commands", required=True)
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)
    return parser


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    if settings.channels():
        args.host, args.port = None, None
        return cmd_serve(settings, args)
    args.user = None
    return cmd_shell(settings, args)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import logging

    from aiohttp import web

    from bot.bootstrap import bootstrap
    from bot.server import SHUTDOWN_SECONDS, build_web_app
    from storage.db import describe_url, wait_for_database

    log = logging.getLogger("liaison")

    def waiting(pause: float, exc: BaseException) -> None:
        where = describe_url(settings.database_url)
        log.warning("the database at %s is not answering yet; trying again in %.0f s", where, pause)

    wait_for_database(settings.database_url, settings.database_wait_seconds, waiting)
    app = bootstrap(settings)
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    logging.getLogger("liaison").info("serving on %s:%s", host, port)
    # On SIGTERM aiohttp stops accepting, runs on_shutdown (which drains in-flight work), waits
    # for running requests, then cleans up (scheduler, Socket Mode, HTTP sessions).
    web.run_app(
        build_web_app(app),
        host=host,
        port=port,
        print=None,
        access_log=None,
        shutdown_timeout=SHUTDOWN_SECONDS,
    )
    return 0


def cmd_shell(settings: Settings, args: argparse.Namespace) -> int:
    import logging

    from bot.bootstrap import bootstrap
    from bot.channels.shell import Shell, ShellOutbox

    if "LOG_LEVEL" not in settings.explicit:
        logging.getLogger().setLevel(logging.WARNING)  # the terminal is for the conversation
    app = bootstrap(settings)
    shell = Shell(app.liaison, user=args.user, sweeper=app.sweeper)
    app.sweeper.outboxes["shell"] = ShellOutbox(shell)
    shell.run()
    return 0


def cmd_sweep(settings: Settings, args: argparse.Namespace) -> int:
    """Nudges, escalations and input cycles, once, as of --at; one line per message."""
    import asyncio
    import datetime as dt
    import zoneinfo

    from bot.bootstrap import bootstrap
    from bot.channels.shell import Shell, ShellOutbox

    app = bootstrap(settings)
    now = None
    if args.at:
        try:
            now = dt.datetime.fromisoformat(args.at)
        except ValueError:
            print(
                f"liaison-bot: --at '{args.at}' is not an ISO-8601 time, e.g. 2027-03-01T09:30Z",
                file=sys.stderr,
            )
            return 2
        if now.tzinfo is None:
            now = now.replace(tzinfo=zoneinfo.ZoneInfo(app.org.timezone))
    unsent = not settings.channels()
    if unsent:  # no chat channel: show what is owed, and mark nothing as sent (cron, a typo)
        app.sweeper.outboxes["shell"] = ShellOutbox(Shell(app.liaison, stdout=sys.stderr))
    lines = asyncio.run(app.sweeper.run(now, dry_run=args.dry_run or unsent))
    for line in lines:
        print(line)
    if not lines:
        print("Nothing is due.")
    elif unsent:
        print(
            "No Slack or Teams credentials are configured, so nothing was sent and nothing was "
            "marked as sent: the next sweep with a channel sends these.",
            file=sys.stderr,
        )
    return 1 if any(line.status == "failed" for line in lines) else 0


def cmd_detect(settings: Settings, args: argparse.Namespace) -> int:
    from handlers import signals
    from handlers.org import load_organisation
    from handlers.playbooks import load_catalogue

    org = load_organisation(settings.config_path)
    catalogue = load_catalogue(org)
    signals.configure(None if args.shipped else org.model_path(), threshold=org.detection.threshold)
    signals.run_jsonl(sys.stdin, sys.stdout, catalogue.cues())
    return 0


def cmd_train(settings: Settings, args: argparse.Namespace) -> int:
    """Refit the organisation's detector: shipped corpus, playbook examples, its own labels."""
    from pathlib import Path

    from handlers.org import load_organisation
    from handlers.playbooks import load_catalogue
    from handlers.signals import feedback
    from storage.db import make_engine, session_scope, upgrade

    org = load_organisation(settings.config_path)
    catalogue = load_catalogue(org)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with session_scope(engine) as session:
        own = feedback.label_examples(feedback.labels(session))
    out = Path(args.out) if args.out else org.model_path()
    print(f"Training on the shipped corpus and {len(own)} answers to offers...", file=sys.stderr)
    model = feedback.train_organisation(out, catalogue.cues(), own)
    print(f"Wrote {out} ({len(model.kinds)} kinds). The bot uses it from its next message.")
    return 0


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    """CSV (one file per table) or one JSON document, for a spreadsheet or another tool."""
    from pathlib import Path

    from handlers import records
    from handlers.localtime import local_today
    from handlers.org import load_organisation
    from storage.db import make_engine, session_scope, upgrade
    from storage.models import utcnow

    engine = make_engine(settings.database_url)
    upgrade(engine)
    org = load_organisation(settings.config_path)
    now = utcnow()
    with session_scope(engine) as session:
        tables = records.export_tables(session, org, now, local_today(org, now, None, None))
    if args.format == "json":
        text = records.to_json(tables)
        if args.out:
            Path(args.out).write_text(text + "\n", encoding="utf-8")
            print(f"Wrote {args.out}.", file=sys.stderr)
        else:
            print(text)
        return 0
    if not args.out:
        for name, rows in tables.items():
            print(f"# {name}")
            print(records.to_csv(rows, records.columns_of(name)), end="")
        return 0
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        # UTF-8 with a byte-order mark: Excel then reads accents and emoji right on a double-click.
        text = records.to_csv(rows, records.columns_of(name))
        (folder / f"{name}.csv").write_text(text, encoding="utf-8-sig")
    counts = ", ".join(f"{len(rows)} {name}" for name, rows in tables.items())
    print(f"Wrote {folder}/: {counts}.", file=sys.stderr)
    return 0


def cmd_forget(settings: Settings, args: argparse.Namespace) -> int:
    """Remove a person's identifying data; their shared records stay, unnamed."""
    from handlers import records
    from handlers.people import by_handle
    from storage.db import make_engine, session_scope, upgrade

    handle = args.person.lstrip("@").lower()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with session_scope(engine) as session:
        person = by_handle(session, handle)
        if person is None:
            print(f"liaison-bot: I don't know @{handle}. Nothing was changed.", file=sys.stderr)
            return 2
        if not args.yes:
            if not sys.stdin.isatty():
                print(
                    "liaison-bot: add --yes to forget someone non-interactively.", file=sys.stderr
                )
                return 2
            answer = input(
                f"Forget @{handle} ({person.display_name})? This cannot be undone [y/N] "
            )
            if answer.strip().lower() not in ("y", "yes"):
                print("Nothing was changed.")
                return 1
        done = records.forget(session, person)
    print(
        f"Forgot @{done.handle}: {done.addresses} chat addresses and {done.intakes} unfinished "
        f"plans deleted, {done.excerpts} message excerpts removed. Their commitments stay, "
        f"attributed to {records.FORGOTTEN_NAME}."
    )
    print(
        "If they are in the organisation config, remove them there too, or they come back "
        "on the next start."
    )
    return 0


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from storage.db import current_revision, make_engine, upgrade

    engine = make_engine(settings.database_url)
    upgrade(engine)
    print(f"Database is at revision {current_revision(engine)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
