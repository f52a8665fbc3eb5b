"""WAP push over SMS: WSP encodings, the push PDU, SMS user data and SMPP.

A library the MMSC uses; it imports nothing from ``mmsc``.
"""
