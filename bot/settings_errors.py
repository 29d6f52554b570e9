"""Bad settings as one sentence each: the variable, what is wrong with its value, a good value.

pydantic's own report ("1 validation error for Settings / port / Input should be less than or
equal to 65535 [type=less_than_equal, ...] For further information visit ...") is written for
programmers and, for a secret, repeats the value. An operator who typed PORT=99999 needs
`PORT=99999 must be a whole number from 0 to 65535; for example PORT=8080.` and nothing else.
Secret values (fields declared with repr=False, such as BOT_TOKEN) are never repeated.
"""

from __future__ import annotations

import re
from typing import Any, get_args

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

# A good value for every setting; a setting missing here falls back to its default.
EXAMPLES: dict[str, str] = {
    "bot_token": "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11",  # the Bot API documentation's own
    "telegram_api_url": "http://127.0.0.1:8081/bot",
    "content_dir": "/srv/rls-content",
    "log_level": "INFO",
    "data_dir": "/data",
    "database_url": "postgresql+asyncpg://rls:password@db:5432/rls",
    "webhook_url": "https://bot.example.org/telegram",
    "webhook_secret": "Zk3q_long-random-string",
    "health_port": "8080",
    "log_format": "json",
    "admin_ids": "12345678,87654321",
}
_NUMBER_ERRORS = frozenset(
    {"int_parsing", "int_from_float", "float_parsing", "finite_number"}
    | {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}
)
_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@/\s]*@")


def shown(name: str, value: Any, secret: bool) -> str:
    """How a value may appear in an error: never a secret, never a password, never very long."""
    if secret:
        return f"{name.upper()} (value withheld)"
    text = _PASSWORD.sub(r"\1***@", str(value))
    return f"{name.upper()}={text if len(text) <= 80 else text[:77] + '...'}"


def example(model: type[BaseModel], name: str) -> str:
    field = model.model_fields.get(name)
    default = field.default if field is not None else None
    if isinstance(default, float) and default.is_integer():
        default = int(default)
    value = EXAMPLES.get(name, "" if default is None else str(default))
    return f"{name.upper()}={value}"


def sentence(model: type[BaseModel], name: str, value: Any, problem: str) -> str:
    """The one-sentence error for `name`, e.g. `LOG_LEVEL=verbose is not ...; for example LOG_LEVEL=INFO.`"""
    field = model.model_fields.get(name)
    secret = field is not None and field.repr is False
    return f"{shown(name, value, secret)} {problem}; for example {example(model, name)}."


def _range(model: type[BaseModel], name: str) -> str:
    """'a whole number from 0 to 65535', from the field's own bounds."""
    field = model.model_fields[name]
    whole = field.annotation is int or int in get_args(field.annotation)
    low = high = None  # (bound, inclusive)
    for bound in field.metadata:
        if isinstance(bound, Ge | Gt):
            low = (bound.ge, True) if isinstance(bound, Ge) else (bound.gt, False)
        elif isinstance(bound, Le | Lt):
            high = (bound.le, True) if isinstance(bound, Le) else (bound.lt, False)
    kind = "a whole number" if whole else "a number"
    if low and high and low[1] and high[1]:
        return f"{kind} from {low[0]} to {high[0]}"
    parts = []
    if low:
        parts.append(f"of {low[0]} or more" if low[1] else f"above {low[0]}")
    if high:
        parts.append(f"of {high[0]} or less" if high[1] else f"below {high[0]}")
    return " ".join([kind, " and ".join(parts)]) if parts else kind


def problem(model: type[BaseModel], name: str, error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind in _NUMBER_ERRORS:
        return f"must be {_range(model, name)}"
    if kind == "bool_parsing":
        return "must be true or false"
    message = str(error.get("msg", "is not valid"))
    return f"is not valid ({message[:1].lower()}{message[1:]})"


def explain(model: type[BaseModel], exc: ValidationError) -> str:
    """One sentence per bad setting, one setting per line."""
    lines = []
    for error in exc.errors(include_url=False):
        name = str(error["loc"][0]) if error["loc"] else "?"
        lines.append(sentence(model, name, error.get("input", ""), problem(model, name, error)))
    return "\n".join(lines)
