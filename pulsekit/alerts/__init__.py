"""Alerts: rules, evaluation, the webhook outbox and its dispatcher (no FastAPI or NiceGUI here)."""
