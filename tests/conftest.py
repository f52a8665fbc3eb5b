"""Test settings: under CI, hypothesis runs derandomized, so a red run reproduces."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
