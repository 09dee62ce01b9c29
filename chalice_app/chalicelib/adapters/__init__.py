"""Thin adapters over AWS and other services; each translates its errors into SelfHealError."""
