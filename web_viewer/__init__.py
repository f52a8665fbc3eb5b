"""The web viewer: the page a link SMS points to, for recipients whose phone takes no MMS or
whose MMS client never fetched (``app.py``: aiohttp handlers and Jinja2 templates;
``presentation.py``: slides from the SMIL; ``i18n.py``: English and French)."""
