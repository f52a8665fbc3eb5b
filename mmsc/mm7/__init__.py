"""MM7: the interface between VASPs and the MMSC (3GPP TS 23.140 §8.7, SOAP 1.1 with attachments)."""
