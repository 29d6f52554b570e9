"""The bot's profile in Telegram, set from content/messages.yaml at every start: the
description (what an empty chat shows), the short description (profile page and share text)
and the command menus, per scope (private chats get every command, groups a short list) and per
language. Telegram is asked first, and only what differs is sent: restarts, and several
processes starting together, then cost a few reads instead of rewriting the profile each time.
"""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScope, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats
from telegram.error import TelegramError

from bot.knowledge.schema import ENGLISH, Content

log = logging.getLogger(__name__)

SCOPES: dict[str, BotCommandScope] = {
    "private": BotCommandScopeAllPrivateChats(),
    "groups": BotCommandScopeAllGroupChats(),
}


def _code(language: str) -> str | None:
    """English is the default profile, shown to everyone without a profile in their language."""
    return None if language == ENGLISH else language


async def _description(bot: Bot, text: str, code: str | None) -> bool:
    if (await bot.get_my_description(language_code=code)).description == text:
        return False
    return await bot.set_my_description(text, language_code=code)


async def _short_description(bot: Bot, text: str, code: str | None) -> bool:
    if (await bot.get_my_short_description(language_code=code)).short_description == text:
        return False
    return await bot.set_my_short_description(text, language_code=code)


async def _commands(bot: Bot, commands: dict[str, str], scope: BotCommandScope, code: str | None) -> bool:
    wanted = [(name, description) for name, description in commands.items()]
    current = await bot.get_my_commands(scope=scope, language_code=code)
    if [(c.command, c.description) for c in current] == wanted:
        return False
    return await bot.set_my_commands([BotCommand(*c) for c in wanted], scope=scope, language_code=code)


async def sync_profile(bot: Bot, content: Content) -> int:
    """Make Telegram's profile match the content; returns how many parts were changed."""
    changed = 0
    for language in content.languages:
        profile, code = content.messages_in(language).profile, _code(language)
        changed += await _description(bot, profile.description.strip(), code)
        changed += await _short_description(bot, profile.short_description.strip(), code)
        for scope, commands in profile.commands.items():
            changed += await _commands(bot, commands, SCOPES[scope], code)
    return changed


async def sync_profile_quietly(bot: Bot, content: Content) -> None:
    """At start-up: a profile Telegram refuses is logged, and the bot answers all the same."""
    try:
        changed = await sync_profile(bot, content)
    except TelegramError as exc:
        log.warning("bot profile not updated (%s); it stays as it was", type(exc).__name__)
        return
    if changed:
        log.info("bot profile: %d part(s) updated", changed)


def report_missing_texts(content: Content) -> None:
    """The start-up check: which texts each language still takes from English (names only)."""
    for language, missing in sorted(content.locale_gaps.items()):
        if missing:
            shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
            log.warning("language %s: %d text(s) fall back to English: %s", language, len(missing), shown)
