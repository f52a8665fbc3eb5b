"""The relay engine: store-and-forward of every message, one recipient state machine."""
