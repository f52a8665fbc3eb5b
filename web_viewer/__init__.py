"""The web fallback viewer: an MMS played as its SMIL slides in any browser. Not built yet."""
