"""Curated content: schema, loading and validation (no Telegram types here)."""

from bot.knowledge.loader import ContentError, load_content
from bot.knowledge.schema import Content, Source, Topic

__all__ = ["Content", "ContentError", "Source", "Topic", "load_content"]
