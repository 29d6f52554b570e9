"""Column-level encryption for diary data: scores, onsets, measures, ferritin and medicines are
health data, so the database holds them only as Fernet tokens.

Why Fernet (from `cryptography`): authenticated encryption (AES-128-CBC with HMAC-SHA256) with a
versioned, timestamped token, and MultiFernet gives key rotation for free: DIARY_KEY holds one or
more keys separated by commas, the first encrypts, every one decrypts. Rotating is prepending a
new key, running `rls-bot db rekey`, then dropping the old key. Each sealed value also carries
the chat id it belongs to, so a token copied onto another user's row does not open there.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SealError(ValueError):
    """A sealed value could not be opened: wrong key, tampered, or another chat's value."""


def new_key() -> str:
    return Fernet.generate_key().decode()


def parse_keys(value: str) -> list[Fernet]:
    """Fernet keys from DIARY_KEY ("new,old,..."); raises ValueError naming what is wrong."""
    keys = [part.strip() for part in value.split(",") if part.strip()]
    if not keys:
        raise ValueError("DIARY_KEY is empty")
    fernets = []
    for index, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.encode()))
        except ValueError:
            raise ValueError(
                f"DIARY_KEY key {index} is not a Fernet key (32 url-safe base64 bytes; `rls-bot diary-key` makes one)"
            ) from None
    return fernets


class Sealer:
    """Seals small JSON values for one chat, and opens them again."""

    def __init__(self, keys: list[Fernet]) -> None:
        self._fernet = MultiFernet(keys)
        self.key_count = len(keys)

    @classmethod
    def from_setting(cls, value: str) -> Sealer:
        return cls(parse_keys(value))

    @classmethod
    def ephemeral(cls) -> Sealer:
        """A key that lives as long as the process: for tests and local tries, never for `run`."""
        return cls([Fernet(Fernet.generate_key())])

    def seal(self, chat_id: int, value: Any) -> str:
        plain = json.dumps({"c": chat_id, "v": value}, separators=(",", ":"), ensure_ascii=False)
        return self._fernet.encrypt(plain.encode()).decode()

    def open(self, chat_id: int, token: str) -> Any:
        try:
            record = json.loads(self._fernet.decrypt(token.encode()))
        except (InvalidToken, ValueError):
            raise SealError("a diary value could not be decrypted with DIARY_KEY") from None
        if not isinstance(record, dict) or record.get("c") != chat_id:
            raise SealError("a diary value belongs to another chat")
        return record.get("v")

    def rotate(self, token: str) -> str:
        """The same value sealed with the newest key (for `rls-bot db rekey`)."""
        return self._fernet.rotate(token.encode()).decode()
