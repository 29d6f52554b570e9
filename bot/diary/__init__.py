"""The symptom diary: nightly check-ins, ferritin results and medicines, sealed at rest (no Telegram here)."""
