"""Emulated handsets for the built-in SMSC emulator."""
