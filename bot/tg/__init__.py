"""The Telegram adapter: turns updates into Responder calls and Replies into messages."""
