"""MM1: the interface between handsets and the MMSC (OMA-MMS-ENC over HTTP)."""
