"""Content adaptation: media transcoded to what a recipient's device can show (UAProf).

A library the MMSC uses; it imports nothing from ``mmsc``. Built so far: device profiles
(``uaprof.py``, with the project's own profiles in ``fixtures/uaprof/``) and images
(``image.py``, with ``wbmp.py`` for the oldest phones). Not yet: fetching profiles from
handsets' URLs, audio and video, the per-message budget plan, and the wiring into retrieval.
"""
