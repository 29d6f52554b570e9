"""`rls-bot chat`: the whole bot in this terminal, with no token and no network.

The real Application (handlers, inbox, SQLite database, reminder dispatcher, diary) long-polls an
in-process fake Bot API (`fake_bot_api.py`) exactly as `rls-bot run` polls Telegram, and this
module plays the user's Telegram app:

1. A typed line becomes an update from one private chat: text and commands as messages, a
   button's number as a press of that button under the message that showed it.
2. Every call the bot makes to that chat is shown as it arrives (`chat_screen.py`): messages,
   edits (compactly), pop-ups, photos and documents (saved under DATA_DIR/received, one line each).
3. The bot's clock is a `FastClock`: with `--clock-speed 600` an evening passes in a minute, so
   reminders and the morning check-in arrive while you watch. The dispatcher job runs as in
   `rls-bot run`, just often enough for that speed. Conversation steps (/remind's questions,
   /forget's confirmation) expire on real time instead, or a 15-minute step would last 1.5 s.

The bot runs on an event loop in a background thread; the main thread reads the terminal with
`input()` (readline: line editing, history), so Ctrl-C and Ctrl-D behave as in any shell. A
message that arrives while you type is drawn above the prompt, which is drawn again as it was.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO, TypeVar

from bot.config import Settings
from bot.devtools.chat_screen import BOT, PROMPT, Button, Keys, Renderer, Screen, wrap
from bot.devtools.fake_bot_api import FakeBotApi
from bot.knowledge import Content
from bot.storage.models import utcnow

log = logging.getLogger(__name__)

CHAT_ID = 42
FIRST_NAME = "Sam"
HANDLED_SECONDS = 30.0  # the prompt waits this long for the bot to finish with a message
START_SECONDS = 120.0  # the first start on a fresh clone trains the models (about 40 s)
STOP_SECONDS = 15.0
QUIT = frozenset({"/quit", "/exit"})
SHOWN_METHODS = frozenset(
    {"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendPhoto", "sendDocument", "answerCallbackQuery"}
)
TRY = "/start /topics /remind 21:00 /reminders /checkin /morning /diary /report /help"
T = TypeVar("T")


class FastClock:
    """Bot time that runs `speed` times faster than `source` (seconds, monotonic), from `start`.
    Tests pass a `source` they move by hand; the bot never knows the difference. A `paused` clock
    stays at `start` until `go()`, so the bot's start-up (training models on a first run) takes
    no bot time."""

    def __init__(
        self,
        speed: float = 1.0,
        *,
        start: datetime | None = None,
        source: Callable[[], float] = time.monotonic,
        paused: bool = False,
    ) -> None:
        if speed < 1:
            raise ValueError("the clock speed must be 1 (real time) or more")
        self.speed = speed
        self.source = source
        self.start = start or utcnow()
        self._origin: float | None = None if paused else source()

    def go(self) -> None:
        if self._origin is None:
            self._origin = self.source()

    def _elapsed(self) -> float:
        return 0.0 if self._origin is None else self.source() - self._origin

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=self._elapsed() * self.speed)

    def real(self) -> datetime:
        """The same start, at real speed: for what must give a person time to type."""
        return self.start + timedelta(seconds=self._elapsed())

    @property
    def dispatch_interval(self) -> float:
        """Real seconds between dispatcher ticks: `rls-bot run`'s 5 s, or often enough that a
        reminder is at most about two bot minutes late, but not more than five times a second."""
        return max(0.2, min(5.0, 60.0 / self.speed))


def demo_settings(base: Settings, api: FakeBotApi, data_dir: Path, clock: FastClock) -> Settings:
    """`base` (the environment's settings) turned into a local bot on `api`: SQLite in `data_dir`,
    its diary key beside it (DIARY_KEY if set), no webhook, no health port, the demo user an admin."""
    local = base.model_copy(
        update={
            "bot_token": api.token,
            "telegram_api_url": api.base_url,
            "data_dir": data_dir,
            "database_url": None,
            "webhook_url": None,
            "webhook_secret": None,
            "health_port": None,
            "clock_offset_seconds": 0.0,
            "dispatch_interval_seconds": clock.dispatch_interval,
            "admin_ids": str(CHAT_ID),
            "flood_limit": 10_000,  # one person (or a piped script) is not a flood; see Handled
        }
    )
    return local.model_copy(update={"diary_key": local.require_diary_key()})


# -- the bot, on its own thread -------------------------------------------------------------------


class StartFailed(Exception):
    """The bot did not start; the message says why."""


class BotThread:
    """The fake Bot API and the real Application on an event loop in a daemon thread."""

    def __init__(
        self, settings: Settings, content: Content, clock: FastClock, data_dir: Path, *, kept: bool = True
    ) -> None:
        self.base, self.content, self.clock, self.data_dir = settings, content, clock, data_dir
        self.kept = kept  # the data folder outlives the chat
        self.loop = asyncio.new_event_loop()
        self.api = FakeBotApi()
        self.handled = Handled()
        self._thread = threading.Thread(target=self._run, name="rls-bot-chat", daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stop: asyncio.Event | None = None

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(START_SECONDS):
            raise StartFailed(f"the bot did not start within {START_SECONDS:.0f} s")
        if self._error is not None:
            raise StartFailed(f"{type(self._error).__name__}: {self._error}")

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the bot's loop and wait for it (from the main thread)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def stop(self) -> None:
        if not self._ready.is_set():  # still starting (Ctrl-C while the models train): just go
            return
        if self._stop is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(STOP_SECONDS)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported by start(); after it, logged
            self._error = exc
            log.error("the chat's bot stopped: %s", type(exc).__name__, exc_info=exc)
        finally:
            self._ready.set()
            self.loop.close()

    async def _serve(self) -> None:
        from bot.tg.app import build_application, serve_polling  # here: Telegram's library loads slowly

        self._stop = asyncio.Event()
        await self.api.start()
        try:
            settings = demo_settings(self.base, self.api, self.data_dir, self.clock)
            application = build_application(settings, self.content, clock=self.clock)
            _steps_on_real_time(application, self.clock)
            self.handled.install(application)
            stop, polling = asyncio.Event(), asyncio.Event()
            serving = asyncio.create_task(serve_polling(application, settings, stop, polling))
            waiter = asyncio.create_task(polling.wait())
            await asyncio.wait({serving, waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if serving.done():
                serving.result()  # raises what stopped the start
            self._ready.set()
            await self._stop.wait()
            stop.set()
            await serving
        finally:
            await self.api.stop()


def _steps_on_real_time(application: Any, clock: FastClock) -> None:
    """After post_init built the chat states, put them on the real-speed clock (see the top)."""
    built = application.post_init

    async def post_init(app: Any) -> None:
        await built(app)
        app.bot_data["chat_states"].clock = clock.real

    application.post_init = post_init


# -- the user's side of the chat (on the bot's loop) ----------------------------------------------


class Phone:
    """Sends what the user types and shows every call the bot makes to the chat, in order."""

    def __init__(self, bot: BotThread, screen: Screen, renderer: Renderer) -> None:
        self.api, self.handled, self.clock = bot.api, bot.handled, bot.clock
        self.screen, self.renderer = screen, renderer
        self.keys = Keys()
        self.seen = 0  # calls already looked at
        self.busy = False  # an exchange is under way: what arrives is its answer
        self.user = {"id": CHAT_ID, "is_bot": False, "first_name": FIRST_NAME}
        self.chat = {"id": CHAT_ID, "type": "private", "first_name": FIRST_NAME}

    def _for_us(self, index: int) -> bool:
        call = self.api.calls[index]
        if call.method not in SHOWN_METHODS:
            return False
        return call.method == "answerCallbackQuery" or str(call.params.get("chat_id")) == str(CHAT_ID)

    def show_new(self) -> None:
        """Print every call not yet shown; called on each change, so nothing waits for a poll."""
        while self.seen < len(self.api.calls):
            index, self.seen = self.seen, self.seen + 1
            if not self._for_us(index):
                continue
            shown = self.renderer.render(self.api.calls[index], self.screen.width)
            if shown is None:
                continue
            lines = shown.lines
            if not self.busy and self.clock.speed != 1:  # it came by itself: say when, in bot time
                lines = [f"[{self.clock():%a %d %b %H:%M} UTC, bot time]", *lines]
            self.screen.show(lines)
            if shown.buttons is not None:
                self.keys.show(shown.buttons)

    async def watch(self) -> None:
        """Show what the bot sends by itself (a reminder falling due) as soon as it is sent."""
        while True:
            with contextlib.suppress(AssertionError):
                await self.api.wait_until(lambda: len(self.api.calls) > self.seen, 3600)
            self.show_new()

    async def say(self, text: str) -> None:
        await self._exchange(self.api.push_text(text, chat=self.chat, user=self.user))

    async def press(self, button: Button) -> None:
        query = self.api.callback_query(button.data, chat=self.chat, user=self.user)
        query["message"]["message_id"] = button.message.message_id or query["message"]["message_id"]
        query["message"]["text"] = str(button.message.params.get("text") or "")
        await self._exchange(self.api.push({"callback_query": query}))

    async def _exchange(self, sending: Coroutine[Any, Any, int]) -> None:
        """Send, then wait until the bot has finished with the update, so the prompt comes after
        every reply to it (replies to one chat are paced about one a second, like Telegram's)."""
        self.show_new()
        self.busy = True
        try:
            if not await self.handled.wait(await sending, HANDLED_SECONDS):
                self.screen.show([BOT + "(no reply yet; it will appear here when it comes)"])
            self.show_new()
        finally:
            self.busy = False


class Handled:
    """The updates the Application has finished with, reported by a handler in a group after all
    the others (PTB runs a later group only once the earlier ones are done with the update)."""

    GROUP = 1_000

    def __init__(self) -> None:
        self.ids: set[int] = set()
        self._changed = asyncio.Condition()

    def install(self, application: Any) -> None:
        from telegram import Update  # only the harness around the adapter touches Telegram's types
        from telegram.ext import TypeHandler

        application.add_handler(TypeHandler(Update, self._record), group=self.GROUP)

    async def _record(self, update: Any, _: Any) -> None:
        async with self._changed:
            self.ids.add(update.update_id)
            self._changed.notify_all()

    async def wait(self, update_id: int, seconds: float) -> bool:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: update_id in self.ids), seconds)
            except TimeoutError:
                return False
        self.ids.discard(update_id)
        return True


# -- the main thread: the prompt ------------------------------------------------------------------


@dataclass
class Terminal:
    """Where lines come from: readline's `input()` on a terminal, else `stream.readline()`."""

    stream: TextIO
    screen: Screen
    interactive: bool

    def read(self) -> str | None:
        """The next line, or None at the end (Ctrl-D, or the end of piped input)."""
        if self.interactive:
            self.screen.prompting = True
            try:
                return input(PROMPT)
            except EOFError:
                self.screen.out.write("\n")
                return None
            finally:
                self.screen.prompting = False
        line = self.stream.readline()
        if not line:
            return None
        self.screen.show([PROMPT + line.rstrip("\r\n")])  # piped input: show it as if typed
        return line


def _readline(history: Path | None) -> Callable[[], str]:
    """Line editing and history where the readline module exists; the typed-so-far getter."""
    try:
        import readline
    except ImportError:  # Windows without pyreadline: plain input() still works
        return lambda: ""
    if history is not None:
        with contextlib.suppress(OSError):
            readline.read_history_file(history)
        import atexit

        atexit.register(lambda: _save_history(readline, history))
    return readline.get_line_buffer


def _save_history(readline: Any, history: Path) -> None:
    with contextlib.suppress(OSError):
        readline.set_history_length(1000)
        readline.write_history_file(history)


def _banner(screen: Screen, clock: FastClock, data_dir: Path, kept: bool) -> None:
    pace = (
        "Bot time runs at real speed (--clock-speed 600 makes an hour pass in 6 s)."
        if clock.speed == 1
        else f"Bot time runs {clock.speed:g}x: an hour passes every {3600 / clock.speed:.3g} s."
    )
    where = f"Data in {data_dir}" + ("." if kept else " (deleted when you quit; --data-dir DIR keeps it).")
    for text in (
        "rls-bot chat: the real bot (database, reminders, diary) on a fake Telegram on this machine.",
        f"Type a message or a command ({TRY}), a button's number to press it, /time for the bot's "
        "clock, /quit (or Ctrl-D) to leave.",
        f"{pace} It is {clock():%a %d %b %H:%M} UTC for the bot.",
        where,
    ):
        screen.line(text)


def _handle(bot: BotThread, phone: Phone, screen: Screen, clock: FastClock, text: str) -> None:
    if text == "/time":
        screen.show([f"bot time: {clock():%a %d %b %Y %H:%M:%S} UTC ({clock.speed:g}x)"], gap=False)
        return
    button = phone.keys.find(text) if text.isdigit() else None
    if button is None:
        bot.call(phone.say(text))
    elif button.data is None:
        screen.show(wrap(f"({button.label}: a button this terminal cannot press)", screen.width))
    else:
        bot.call(phone.press(button))


def run_chat(
    settings: Settings,
    content: Content,
    stream_in: TextIO,
    out: TextIO,
    *,
    data_dir: Path,
    clock: FastClock | None = None,
    width: int | None = None,
    interactive: bool | None = None,
    history: Path | None = None,
    kept: bool = True,
) -> int:
    """The chat until /quit, Ctrl-D or Ctrl-C (all exit 0 with one line); 1 if the bot cannot start.
    `interactive` (default: both streams are this terminal) reads with readline and redraws the
    prompt; otherwise lines are read from `stream_in` and echoed after `you> `."""
    clock = clock or FastClock(1.0, start=utcnow() + timedelta(seconds=settings.clock_offset_seconds))
    if interactive is None:
        interactive = stream_in is sys.stdin and out is sys.stdout and stream_in.isatty() and out.isatty()
    screen = Screen(out, width=width, interactive=interactive)
    if interactive:
        screen.typed = _readline(history)
    screen.line("Starting the bot (a first start on a fresh clone trains its models: about 40 s)…")
    bot = BotThread(settings, content, clock, data_dir, kept=kept)
    try:
        bot.start()
        clock.go()
        _converse(bot, Phone(bot, screen, Renderer(data_dir / "received")), Terminal(stream_in, screen, interactive))
    except StartFailed as exc:
        screen.line(f"The bot could not start: {exc}")
        return 1
    except KeyboardInterrupt:
        out.write("\n")
    finally:
        screen.prompting = False
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C: leave the thread behind
            bot.stop()
    screen.line("Bye: the bot has stopped.")
    return 0


def _converse(bot: BotThread, phone: Phone, terminal: Terminal) -> None:
    """/start, then one typed line after another until /quit or the end of input."""
    watcher = asyncio.run_coroutine_threadsafe(phone.watch(), bot.loop)
    try:
        _banner(terminal.screen, bot.clock, bot.data_dir, bot.kept)
        bot.call(phone.say("/start"))
        while (line := terminal.read()) is not None and line.strip() not in QUIT:
            if line.strip():
                _handle(bot, phone, terminal.screen, bot.clock, line.strip())
    finally:
        watcher.cancel()


# -- the command ------------------------------------------------------------------------------------


def main(args: argparse.Namespace, settings: Settings, content: Content) -> int:
    """`rls-bot chat`: on this terminal, logging to a file in the data folder, not over the chat.
    The data folder is never DATA_DIR from the environment: the demo must not touch a real bot's
    database (its reminders would go to the fake Telegram and count as sent)."""
    from bot import logs

    if args.clock_speed < 1:
        print("chat: --clock-speed must be 1 (real time) or more, e.g. --clock-speed 600", file=sys.stderr)
        return 2
    with contextlib.ExitStack() as stack:
        if args.data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rls-bot-chat-")))
        else:
            data_dir = args.data_dir.resolve()
            data_dir.mkdir(parents=True, exist_ok=True)
        log_file = stack.enter_context((data_dir / "rls-bot.log").open("a", encoding="utf-8"))
        secrets = (settings.bot_token, settings.webhook_secret)
        logs.configure(settings.log_level, settings.log_format, stream=log_file, secrets=secrets)
        logging.captureWarnings(True)  # a library's warning must not land in the middle of the chat
        stack.callback(logs.configure, settings.log_level, settings.log_format, secrets=secrets)  # before it closes
        start = utcnow() + timedelta(seconds=settings.clock_offset_seconds)
        return run_chat(
            settings,
            content,
            sys.stdin,
            sys.stdout,
            data_dir=data_dir,
            clock=FastClock(args.clock_speed, start=start, paused=True),
            history=data_dir / "chat-history" if args.data_dir is not None else None,
            kept=args.data_dir is not None,
        )
    return 0  # not reached: mypy cannot see that the with block always returns
