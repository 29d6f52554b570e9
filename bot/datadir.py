"""Start-up check that the SQLite database can be written, before anything else is started.

Without it, a DATA_DIR the bot's user cannot write (a host folder mounted into the container,
which runs as uid 10001, owned by root) fails much later, inside a migration, as
`sqlite3.OperationalError: unable to open database file` under a long traceback that never
mentions the setting or the fix.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.config import ConfigError, Settings

CONTAINER_UID = 10001  # the Dockerfile's `rls` user


def _problem(directory: Path, database: Path) -> str | None:
    """Why files cannot be written here, or None if they can."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".rls-bot-write-check-"):
            pass
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    if database.exists() and not os.access(database, os.W_OK):
        return f"{database.name} is read-only"
    return None


def check_writable(settings: Settings) -> None:
    """Raise ConfigError, one sentence with the fix, if the SQLite database cannot be written.
    PostgreSQL needs no local files, so it is not checked."""
    url = make_url(settings.database)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return
    database = Path(url.database)
    directory = database.parent.resolve()
    reason = _problem(directory, database)
    if reason is None:
        return
    variable = "DATABASE_URL" if settings.database_url else "DATA_DIR"
    uid, gid = os.getuid(), os.getgid()
    if uid == CONTAINER_UID:  # in the image: the folder is a host folder mounted over /data
        fix = (
            f"on the host, give the mounted folder to uid {CONTAINER_UID}, for example "
            f"`sudo chown -R {CONTAINER_UID}:{CONTAINER_UID} /srv/rls-data`, or use a named volume such as "
            "`-v rls-data:/data`"
        )
    else:
        fix = (
            f"give the folder to that user, for example `sudo chown -R {uid}:{gid} {directory}` (the Docker "
            f"image runs as uid {CONTAINER_UID}: chown a mounted host folder to {CONTAINER_UID}:{CONTAINER_UID})"
        )
    raise ConfigError(
        f"{variable} points at {directory}, which this process (uid {uid}) cannot write ({reason}); {fix}."
    )
