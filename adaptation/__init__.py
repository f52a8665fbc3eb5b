"""Content adaptation: media transcoded to what a recipient's device can show (UAProf).

A library the MMSC uses; it imports nothing from ``mmsc``. Device profiles (``uaprof.py``,
with the project's own profiles in ``fixtures/uaprof/``; ``profile_fetch.py`` for handsets'
own profile URLs on allowed hosts); one module per media kind: images (``image.py``, with
``wbmp.py`` for the oldest phones), audio and video (``media.py``, over ``ffmpeg.py`` and
``probe.py``); and the per-message budget that chooses between them (``plan.py``).
"""
