"""Chaos run: several bot processes on one PostgreSQL database, killed and starved (prints figures;
not a test).

    python benchmarks/chaos.py [--processes 3] [--chats 300] [--kills 8] [--seconds 150] [--seed 1]
                               [--quick] [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/chaos]

WIPES the database it is given (drops its `public` schema). --processes `rls-bot run` processes
(real subprocesses, webhook mode, so an update counts as acknowledged once a process answered its
POST with 200) share it, with a fake Bot API in another process. --chats chats are subscribed to
evening tips whose slots fall due at random moments in the first two thirds of the run (the real
clock: the rows are written with due times a few seconds to minutes ahead, as burst.py writes
them due now). For --seconds a driver then, all at once and driven by --seed:

  a. posts user questions (one new chat each) to random processes, as Telegram would: a POST
     that does not get 200 (refused, reset, 503 while stopping) is posted again to another
     process a second later, until one acknowledges it;
  b. sends --kills signals, SIGKILL or SIGTERM, to random live processes; a supervisor restarts
     every process that exits (also one that gave up at start-up because Telegram was away);
  c. makes the fake Bot API slow (every call is recorded, then answered after the clients' read
     timeouts) and unreachable (connections refused for tens of seconds) at random times.

Then the faults stop, every process runs, and the run waits until nothing is left to do. From
the fake Bot API's record and the `deliveries` table it prints: per tip chat, how many got the
tip 0, 1 and 2+ times; each lost tip's fate, and whether a SIGKILL within one send window of
marking it "sending" explains it; every send recorded in doubt ("unknown") and how many of those
arrived; acknowledged questions never answered and duplicated answers; and the run's parameters.
--quick is a smaller run of about a minute. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from cryptography.fernet import Fernet  # noqa: E402
from load import MESSAGES, PREFIX, SECRET, free_port, our_answers, wait_http  # noqa: E402
from load import update as question_update  # noqa: E402
from reminders import TOKEN, fill  # noqa: E402
from sqlalchemy import Select, bindparam, func, select, text, update  # noqa: E402

from bot.knowledge import load_content  # noqa: E402
from bot.reminders.processes import BEAT_SECONDS  # noqa: E402
from bot.replies import Responder  # noqa: E402
from bot.storage.database import create_engine  # noqa: E402
from bot.storage.models import Delivery, DeliveryStatus, InboxUpdate, Process, Status, Subscription  # noqa: E402

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/chaos"
QUESTION_CHATS = 60_000_000  # far from the tip chats (1..N)
READ_TIMEOUT = 4.0  # REMINDER_READ_TIMEOUT_SECONDS; PTB's own read timeout for replies is 5 s
SLOW_ANSWER = 7.0  # seconds a slow Bot API holds its answer: longer than both read timeouts
RESEND_SECONDS = 1.0  # how soon an update that was not acknowledged is posted again
POST_TIMEOUT = 10.0  # a webhook POST without an answer this long counts as not acknowledged
SHUTDOWN_GRACE = 30.0  # seconds a SIGTERMed process may take before it is SIGKILLed at the end


@dataclass(frozen=True)
class Plan:
    """The run's parameters: everything the figures depend on."""

    processes: int
    chats: int
    kills: int
    seconds: float
    seed: int
    questions_per_second: float
    slow_periods: int
    outages: int
    outage_seconds: tuple[float, float]
    slow_seconds: tuple[float, float]
    settle_seconds: float
    read_timeout: float = READ_TIMEOUT
    slow_answer: float = SLOW_ANSWER


@dataclass
class Event:
    """Something the driver did, with the wall-clock time (epoch seconds) it did it."""

    at: float
    what: str  # SIGKILL | SIGTERM | start | exited | slow | fast | outage
    slot: int | None = None
    detail: str = ""


@dataclass
class Question:
    """One update posted to the webhook, and what became of each POST."""

    chat: int
    text: str
    posts: list[tuple[float, int, int | str]] = field(default_factory=list)  # (at, slot, status or error)

    @property
    def acknowledged(self) -> bool:
        return any(status == 200 for _, _, status in self.posts)


@dataclass
class Slot:
    """One bot process's place: its port, its log, the process running there now."""

    index: int
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    restart_at: float = float("inf")  # inf while the process runs (or until its exit is seen)
    restart_after: float = 1.0  # seconds from an exit to the restart
    signalled: bool = False  # the driver stopped it; an exit otherwise is the process's own doing

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Fleet:
    """The bot processes: started, signalled and restarted, every step recorded in `events`."""

    def __init__(self, plan: Plan, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.slots = [Slot(i, free_port(), workdir / f"bot-{i}.log") for i in range(plan.processes)]
        self.events: list[Event] = []
        self.exits: Counter[str] = Counter()  # rc of exits the driver did not cause

    def start(self, slot: Slot) -> None:
        """`rls-bot run` (as `python -m bot run`) in webhook mode on the slot's port."""
        with slot.log.open("ab") as log:
            slot.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=ROOT,
                env={**self.env, "PORT": str(slot.port)},
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        slot.signalled, slot.restart_at, slot.restart_after = False, float("inf"), 1.0
        self.events.append(Event(time.time(), "start", slot.index))

    def signal(self, slot: Slot, signum: signal.Signals, restart_after: float) -> None:
        """Send `signum`; the supervisor restarts the process `restart_after` seconds after it exits."""
        assert slot.process is not None
        slot.signalled, slot.restart_after = True, restart_after
        slot.process.send_signal(signum)
        self.events.append(Event(time.time(), signum.name, slot.index))

    async def supervise(self, stop: asyncio.Event) -> None:
        """Restart every process that exited, as a container runtime would, until `stop`."""
        while not stop.is_set():
            now = time.time()
            for slot in self.slots:
                if slot.process is None or slot.running:
                    continue
                if slot.restart_at == float("inf"):  # exited since the last look
                    rc = slot.process.returncode
                    if not slot.signalled:
                        self.exits[str(rc)] += 1
                    self.events.append(
                        Event(now, "exited", slot.index, f"rc {rc}{'' if slot.signalled else ', by itself'}")
                    )
                    slot.restart_at = now + slot.restart_after
                if now >= slot.restart_at:
                    self.start(slot)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)  # polling the children's exit status

    def live(self) -> list[Slot]:
        return [slot for slot in self.slots if slot.running]

    def stop_all(self) -> None:
        """SIGTERM everything still running and wait for it (SIGKILL after SHUTDOWN_GRACE)."""
        for slot in self.live():
            assert slot.process is not None
            slot.process.send_signal(signal.SIGTERM)
        for slot in self.slots:
            if slot.process is not None:
                try:
                    slot.process.wait(SHUTDOWN_GRACE)
                except subprocess.TimeoutExpired:
                    slot.process.kill()
                    slot.process.wait()


def make_plan(args: argparse.Namespace) -> Plan:
    """The run's parameters from the command line; --quick shrinks the defaults to about a minute."""
    quick = args.quick
    return Plan(
        processes=args.processes or (2 if quick else 3),
        chats=args.chats or (60 if quick else 300),
        kills=args.kills if args.kills is not None else (3 if quick else 8),
        seconds=args.seconds or (30.0 if quick else 150.0),
        seed=args.seed,
        questions_per_second=3.0 if quick else 4.0,
        slow_periods=1 if quick else 2,
        outages=1 if quick else 2,
        outage_seconds=(10.0, 12.0) if quick else (20.0, 40.0),
        slow_seconds=(6.0, 8.0) if quick else (10.0, 20.0),
        settle_seconds=45.0 if quick else 120.0,
    )


# -- the database --------------------------------------------------------------------------------


async def prepare_database(url: str, chats: int) -> None:
    """A fresh schema with `chats` subscribers (benchmarks/reminders.py's fill), none due yet."""
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    await fill(url, chats, 0, datetime.now(UTC) + timedelta(days=2))  # every slot days away


async def schedule_tips(url: str, chats: int, start: float, within: float, rng: random.Random) -> None:
    """Move each chat's evening slot to a random moment in [start, start + within] (epoch s)."""
    rows = [
        {"chat": chat, "at": datetime.fromtimestamp(start + rng.uniform(0, within), UTC)}
        for chat in range(1, chats + 1)
    ]
    table = Subscription.__table__
    engine = create_engine(url)
    async with engine.begin() as connection:
        statement = update(table).where(table.c.chat_id == bindparam("chat")).values(next_due_at=bindparam("at"))
        await connection.execute(statement, rows)
    await engine.dispose()


async def read(url: str, statement: Select) -> list[dict[str, Any]]:
    """Rows of one query, as dicts (times as aware UTC datetimes, by the models' column types)."""
    engine = create_engine(url)
    async with engine.connect() as connection:
        rows = [dict(row._mapping) for row in await connection.execute(statement)]
    await engine.dispose()
    return rows


def deliveries() -> Select:
    d = Delivery.__table__.c
    return select(d.chat_id, d.kind, d.status, d.error, d.claimed_by, d.claimed_at, d.attempts)


def processes() -> Select:
    return select(Process.__table__.c.id, Process.__table__.c.beat_at)


async def leftovers(url: str, chats: int) -> dict[str, int]:
    """Work still to be done: updates in the inbox, tips not yet claimed, claims not yet sent."""
    s = Subscription.__table__.c
    due = (s.chat_id <= chats, s.status == Status.active, s.next_due_at <= datetime.now(UTC))
    statement = select(
        select(func.count()).select_from(InboxUpdate.__table__).scalar_subquery().label("inbox"),
        select(func.count()).where(*due).scalar_subquery().label("unclaimed"),
        select(func.count())
        .where(Delivery.__table__.c.status == DeliveryStatus.claimed)
        .scalar_subquery()
        .label("claimed"),
    )
    return {k: int(v) for k, v in (await read(url, statement))[0].items()}


# -- the driver ------------------------------------------------------------------------------------


async def ask(fleet: Fleet, questions: list[Question], plan: Plan, rng: random.Random, until: float) -> None:
    """(a) Post one question per new chat at the plan's rate, each until a process takes it."""
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=0)  # a new connection each: no stale ones
    async with httpx.AsyncClient(limits=limits, timeout=POST_TIMEOUT) as client:

        async def post_until_taken(question: Question, update_id: int) -> None:
            body = question_update(update_id, question.chat, question.text)
            while time.time() < until:
                slot = rng.choice(fleet.slots)
                try:
                    response = await client.post(
                        f"http://127.0.0.1:{slot.port}/hook",
                        json=body,
                        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                    )
                    status: int | str = response.status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                question.posts.append((time.time(), slot.index, status))
                if status == 200:
                    return
                await asyncio.sleep(RESEND_SECONDS)  # Telegram's own pause before it tries again

        tasks, started = [], time.time()
        count = int(plan.questions_per_second * plan.seconds)
        for i in range(count):
            await asyncio.sleep(max(0.0, started + i / plan.questions_per_second - time.time()))  # open-loop pacing
            question = Question(QUESTION_CHATS + i, MESSAGES[i % len(MESSAGES)])
            questions.append(question)
            tasks.append(asyncio.create_task(post_until_taken(question, QUESTION_CHATS + i)))
        await asyncio.gather(*tasks)


async def kill(fleet: Fleet, plan: Plan, rng: random.Random, started: float) -> None:
    """(b) SIGKILL or SIGTERM a random live process at random moments (both kinds when kills > 1)."""
    signals = [signal.SIGKILL, signal.SIGTERM] * (plan.kills // 2) + [rng.choice([signal.SIGKILL, signal.SIGTERM])]
    signals = signals[: plan.kills]
    rng.shuffle(signals)
    moments = sorted(rng.uniform(0.08, 0.85) * plan.seconds for _ in signals)
    for at, signum in zip(moments, signals, strict=True):
        await asyncio.sleep(max(0.0, started + at - time.time()))  # the kill's random moment
        live = fleet.live()
        if live:
            fleet.signal(rng.choice(live), signum, restart_after=rng.uniform(1.0, 4.0))


def fault_schedule(plan: Plan, rng: random.Random) -> list[tuple[float, str, float]]:
    """(offset, "slow" | "outage", duration), non-overlapping (the /faults endpoint itself is
    unreachable during an outage), spread over the run at random."""
    faults = [("slow", rng.uniform(*plan.slow_seconds)) for _ in range(plan.slow_periods)]
    faults += [("outage", rng.uniform(*plan.outage_seconds)) for _ in range(plan.outages)]
    rng.shuffle(faults)
    margin, begin, end = 2.0, 0.05 * plan.seconds, 0.85 * plan.seconds
    free = max(0.0, end - begin - sum(d for _, d in faults) - margin * len(faults))
    cuts = sorted(rng.uniform(0, free) for _ in faults)
    schedule, used = [], 0.0
    for n, ((kind, duration), cut) in enumerate(zip(faults, cuts, strict=True)):
        schedule.append((begin + cut + used + n * margin, kind, duration))
        used += duration
    return schedule


async def break_the_api(api: str, fleet: Fleet, plan: Plan, rng: random.Random, started: float) -> None:
    """(c) Slow answers (recorded, then answered after the read timeouts) and outages."""
    async with httpx.AsyncClient(timeout=10) as client:
        for at, kind, duration in fault_schedule(plan, rng):
            await asyncio.sleep(max(0.0, started + at - time.time()))  # the fault's random moment
            if kind == "slow":
                await client.post(f"{api}/faults", json={"slow_answers": plan.slow_answer})
                fleet.events.append(Event(time.time(), "slow", detail=f"{duration:.0f} s"))
                await asyncio.sleep(duration)  # the slow period
                await client.post(f"{api}/faults", json={"slow_answers": 0})
                fleet.events.append(Event(time.time(), "fast"))
            else:
                fleet.events.append(Event(time.time(), "outage", detail=f"{duration:.0f} s"))
                await client.post(f"{api}/faults", json={"outage": duration})
                await asyncio.sleep(duration)  # the outage; the fake listens again by itself


async def settle(url: str, api: str, plan: Plan) -> dict[str, Any]:
    """Wait until no work is left and the Bot API's record stops changing (or settle_seconds)."""
    deadline, last, stable_since = time.time() + plan.settle_seconds, None, time.time()
    async with httpx.AsyncClient(timeout=10) as client:
        while True:
            stats = (await client.get(f"{api}/stats", params={"detail": "1"})).json()
            left = await leftovers(url, plan.chats)
            if (sum(stats["delivered"].values()), left) != last:
                last, stable_since = (sum(stats["delivered"].values()), left), time.time()
            idle = not any(left.values()) and time.time() - stable_since >= 3
            if idle or time.time() > deadline:
                return {"stats": stats, "leftovers": left, "settled": idle}
            await asyncio.sleep(1)  # polling the fake's counters and the database


# -- the figures -----------------------------------------------------------------------------------


def owner_deaths(processes: list[dict[str, Any]], events: list[Event]) -> dict[str, float]:
    """Dispatcher owner -> the SIGKILL that ended it, matched by its last heartbeat: a SIGKILLed
    process leaves its `processes` row behind, beaten at most BEAT_SECONDS before the kill."""
    kills = [e.at for e in events if e.what == "SIGKILL"]
    deaths = {}
    for row in processes:
        beat = row["beat_at"].timestamp()
        after = [k for k in kills if beat - 1 <= k <= beat + BEAT_SECONDS + 2]
        if after:
            deaths[row["id"]] = min(after)
    return deaths


def tip_figures(
    plan: Plan, delivered: dict[int, int], rows: list[dict[str, Any]], deaths: dict[str, float], started: float
) -> dict[str, Any]:
    """Per-chat delivery counts, the fate of each lost tip, and the sends recorded in doubt."""
    counts = [delivered.get(chat, 0) for chat in range(1, plan.chats + 1)]
    by_chat = {row["chat_id"]: row for row in rows if row["kind"] == "evening" and row["chat_id"] <= plan.chats}
    window = plan.read_timeout + 5.0  # marked "sending" -> answered or timed out, with pacing to spare
    lost: list[dict[str, Any]] = []
    for chat in range(1, plan.chats + 1):
        if delivered.get(chat, 0):
            continue
        row = by_chat.get(chat)
        fate = {"chat": chat, "status": row["status"] if row else "no delivery row", "error": row and row["error"]}
        killed_at = deaths.get(row["claimed_by"]) if row else None
        marked = row["claimed_at"].timestamp() if row and row["claimed_at"] else None
        in_window = (
            row is not None
            and (row["status"] == "sending" or row["error"] == "the process died while sending")
            and killed_at is not None
            and marked is not None
            and marked - 1 <= killed_at <= marked + window
        )
        fate["explained"] = "SIGKILL within one send window" if in_window else None
        if in_window:
            fate["killed_at"], fate["killed_after_marking_s"] = killed_at, round(killed_at - marked, 1)
        lost.append(fate)
    in_doubt = [row for row in by_chat.values() if row["status"] in ("unknown", "sending")]
    doubt_reasons = Counter(
        f"{row['status']}: {(row['error'] or 'killed while sending, not swept yet').split(';')[0]}"
        f" -> {'arrived' if delivered.get(row['chat_id']) else 'never arrived'}"
        for row in in_doubt
    )
    return {
        "chats_with_0": counts.count(0),
        "chats_with_1": counts.count(1),
        "chats_with_2_or_more": sum(c >= 2 for c in counts),
        "lost": len(lost),
        "lost_explained_by_sigkill": sum(1 for f in lost if f["explained"]),
        "lost_unexplained": [f for f in lost if not f["explained"]],
        "lost_per_sigkill": dict(Counter(f"{f['killed_at'] - started:.1f}s" for f in lost if f["explained"])),
        "in_doubt_by_reason": dict(doubt_reasons),
        "statuses": dict(Counter(row["status"] for row in by_chat.values())),
    }


def duplicate_cause(question: Question, answers: list[float], events: list[Event], started: float) -> str:
    """Why a question was answered more than once: a signal while its first handling was still
    running (the handler goes on for up to two read timeouts after its answer arrived), or a
    POST that failed in a way that does not prove the update was not stored (Telegram resends)."""
    handled = (answers[0] - 1, min(answers[-1], answers[0] + 4 * READ_TIMEOUT))
    signals = [e for e in events if e.what in ("SIGKILL", "SIGTERM") and handled[0] <= e.at <= handled[1]]
    kill = next((e for e in signals if e.what == "SIGKILL"), None)
    if kill is not None:
        return f"SIGKILL while handled ({kill.at - started:.1f}s)"
    if any(status not in (200, 503, "ConnectError") for _, _, status in question.posts):
        return "resent after an ambiguous POST"
    if signals:
        return "SIGTERM while handled"
    return "unexplained"


def answer_figures(
    questions: list[Question], replies: dict[int, list[tuple[float, str]]], events: list[Event], started: float
) -> dict[str, Any]:
    """Acknowledged questions never answered, duplicated answers, and what explains them."""
    expected = our_answers()
    sorry = Responder(load_content(ROOT / "content")).error_reply().html[:PREFIX]
    unanswered, causes, odd, sorry_only = [], Counter[str](), [], 0
    for question in questions:
        got = replies.get(question.chat, [])
        answers = [at for at, prefix in got if prefix == expected[question.text]]
        if question.acknowledged and not answers:
            first_ack = next(at for at, _, status in question.posts if status == 200)
            sorry_only += any(prefix == sorry for _, prefix in got)
            unanswered.append({"chat": question.chat, "acknowledged_at": round(first_ack, 1), "replies": len(got)})
        if len(answers) > 1:
            cause = duplicate_cause(question, answers, events, started)
            causes[cause] += len(answers) - 1
            if not cause.startswith("SIGKILL"):
                posts = [(round(at - started, 1), slot, status) for at, slot, status in question.posts]
                odd.append(
                    {
                        "chat": question.chat,
                        "cause": cause,
                        "answers_at": [round(a - started, 1) for a in answers],
                        "posts": posts,
                    }
                )
    return {
        "questions": len(questions),
        "acknowledged": sum(q.acknowledged for q in questions),
        "posts_not_acknowledged": sum(1 for q in questions for _, _, s in q.posts if s != 200),
        "acknowledged_never_answered": len(unanswered),
        "of_which_got_only_the_sorry_reply": sorry_only,
        "never_answered_detail": unanswered[:20],
        "duplicate_answers": sum(causes.values()),
        "duplicates_by_cause": dict(causes),
        "duplicates_not_by_sigkill": odd[:20],
    }


def chaos_figures(fleet: Fleet, started: float) -> dict[str, Any]:
    """What the driver did, with times relative to the start of the run."""
    return {
        "signals": dict(Counter(e.what for e in fleet.events if e.what in ("SIGKILL", "SIGTERM"))),
        "starts": sum(1 for e in fleet.events if e.what == "start"),
        "exits_by_themselves": dict(fleet.exits),
        "timeline": [
            " ".join(filter(None, (f"{e.at - started:6.1f}s", e.what, e.slot is not None and f"#{e.slot}", e.detail)))
            for e in fleet.events
            if e.what != "start" or e.at > started
        ],
    }


def print_report(plan: Plan, result: dict[str, Any]) -> None:
    """The figures in words, then the whole result as one JSON line."""
    tips, answers = result["tips"], result["answers"]
    print(f"parameters: {json.dumps(asdict(plan))}")
    print("chaos:", *result["chaos"]["timeline"], sep="\n  ")
    print(f"settled: {result['settled']} (left: {result['leftovers']})")
    print(
        f"tips: {plan.chats} chats; delivered 0 times: {tips['chats_with_0']}, once: {tips['chats_with_1']},"
        f" 2+ times: {tips['chats_with_2_or_more']}"
    )
    print(
        f"tips lost: {tips['lost']}, explained by a SIGKILL within one send window:"
        f" {tips['lost_explained_by_sigkill']}, unexplained: {len(tips['lost_unexplained'])}"
    )
    print(f"  tips lost to each SIGKILL that hit a process with claims (when: tips): {tips['lost_per_sigkill']}")
    for fate in tips["lost_unexplained"]:
        print(f"  unexplained loss: {fate}")
    print(f"tips in doubt ('unknown', or 'sending' left by a kill): {tips['in_doubt_by_reason']}")
    print(f"delivery statuses: {tips['statuses']}")
    print(
        f"questions: {answers['questions']}, acknowledged: {answers['acknowledged']} (POSTs refused on the way:"
        f" {answers['posts_not_acknowledged']}); acknowledged but never answered:"
        f" {answers['acknowledged_never_answered']}"
        f" (only the 'sorry' reply: {answers['of_which_got_only_the_sorry_reply']})"
    )
    print(f"duplicate answers: {answers['duplicate_answers']} by cause: {answers['duplicates_by_cause']}")
    for duplicate in answers["duplicates_not_by_sigkill"]:
        print(f"  duplicate not by a SIGKILL: {duplicate}")
    print(json.dumps(result, default=str))


# -- the run ---------------------------------------------------------------------------------------


def start_fake_api() -> tuple[subprocess.Popen[str], str]:
    """The fake Bot API in its own process, so that killing bots never touches its record."""
    port = free_port()
    fake = subprocess.Popen(
        [sys.executable, "-m", "bot.devtools.fake_bot_api", "--port", str(port), "--token", TOKEN],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert fake.stdout is not None
    fake.stdout.readline()  # it prints once it listens
    return fake, f"http://127.0.0.1:{port}"


def bot_env(plan: Plan, api: str, url: str) -> dict[str, str]:
    return {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": f"{api}/bot",
        "WEBHOOK_URL": "https://bot.example.org/hook",
        "WEBHOOK_SECRET": SECRET,
        "LISTEN_HOST": "127.0.0.1",
        "DATABASE_URL": url,
        "DIARY_KEY": Fernet.generate_key().decode(),
        "DISPATCH_INTERVAL_SECONDS": "1",
        "REMINDER_READ_TIMEOUT_SECONDS": str(plan.read_timeout),
        "LOG_LEVEL": "WARNING",
    }


async def run(plan: Plan, url: str) -> dict[str, Any]:
    """Set up, drive the chaos, settle, and collect the figures."""
    rng = random.Random(plan.seed)
    workdir = Path(tempfile.mkdtemp(prefix="rls-chaos-"))
    await prepare_database(url, plan.chats)
    fake, api = start_fake_api()
    fleet = Fleet(plan, bot_env(plan, api, url), workdir)
    stop = asyncio.Event()
    supervisor: asyncio.Task[None] | None = None
    try:
        for slot in fleet.slots:
            fleet.start(slot)
        for slot in fleet.slots:
            await wait_http(f"http://127.0.0.1:{slot.port}/healthz", timeout=120)
        started = time.time()
        await schedule_tips(url, plan.chats, started + 3, 0.65 * plan.seconds, rng)
        supervisor = asyncio.create_task(fleet.supervise(stop))
        questions: list[Question] = []
        await asyncio.gather(
            ask(fleet, questions, plan, random.Random(rng.random()), started + plan.seconds + plan.settle_seconds / 2),
            kill(fleet, plan, random.Random(rng.random()), started),
            break_the_api(api, fleet, plan, random.Random(rng.random()), started),
        )
        settled = await settle(url, api, plan)
        rows = await read(url, deliveries())
        beats = await read(url, processes())
    finally:
        stop.set()
        if supervisor is not None:
            await supervisor
        fleet.stop_all()
        fake.terminate()
        fake.wait(10)
    stats = settled["stats"]
    delivered = {int(k): v for k, v in stats["delivered"].items()}
    replies = {int(k): [(t, p) for t, p in v] for k, v in stats["replies"].items()}
    return {
        "plan": asdict(plan),
        "settled": settled["settled"],
        "leftovers": settled["leftovers"],
        "tips": tip_figures(plan, delivered, rows, owner_deaths(beats, fleet.events), started),
        "answers": answer_figures(questions, replies, fleet.events, started),
        "chaos": chaos_figures(fleet, started),
        "logs": str(workdir),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, default=None, help="bot processes (default 3; quick 2)")
    parser.add_argument("--chats", type=int, default=None, help="chats with a tip due in the run (300; quick 60)")
    parser.add_argument("--kills", type=int, default=None, help="SIGKILLs and SIGTERMs in all (8; quick 3)")
    parser.add_argument("--seconds", type=float, default=None, help="how long the chaos lasts (150; quick 30)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="a smaller run of about a minute")
    parser.add_argument("--database-url", default=DEFAULT_URL, help="a PostgreSQL database this may wipe")
    args = parser.parse_args()
    plan = make_plan(args)
    print_report(plan, asyncio.run(run(plan, args.database_url)))


if __name__ == "__main__":
    main()
