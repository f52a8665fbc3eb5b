"""mmsc: an MMSC emulator and MMS delivery pipeline (MM1, MM4, MM7, WAP push over SMPP)."""

__version__ = "0.1.0"
