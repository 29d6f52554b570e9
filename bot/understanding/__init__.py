"""Message -> intent: emergency, topic, out_of_scope, smalltalk or reminders (no Telegram here)."""

from bot.understanding.classifier import Classifier, Context, Intent, Interpretation

__all__ = ["Classifier", "Context", "Intent", "Interpretation"]
