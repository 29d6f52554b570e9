"""Evening reminders: schedule maths, time zones, requests, delivery (no Telegram types here)."""
