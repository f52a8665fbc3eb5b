"""Content adaptation: media transcoded to what a recipient's device can show (UAProf).

A library the MMSC uses; it imports nothing from ``mmsc``. Not built yet.
"""
