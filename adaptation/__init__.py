"""Content adaptation: media transcoded to what a recipient's device can show (UAProf).

A library the MMSC uses; it imports nothing from ``mmsc``. Built so far: images
(``image.py``, with ``wbmp.py`` for the oldest phones). Not yet: UAProf profiles, audio and
video, the per-message budget plan, and the wiring into retrieval.
"""
