"""Content adaptation: media transcoded to what a recipient's device can show (UAProf).

A library the MMSC uses; it imports nothing from ``mmsc``. Built so far: device profiles
(``uaprof.py``, with the project's own profiles in ``fixtures/uaprof/``; ``profile_fetch.py``
for handsets' own profile URLs on allowed hosts), images (``image.py``, with ``wbmp.py`` for
the oldest phones), text, and the per-message budget (``plan.py``). Not yet: audio and video.
"""
