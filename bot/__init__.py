"""rls-bot: answers questions about restless legs syndrome from curated content."""

__version__ = "0.1.0"
