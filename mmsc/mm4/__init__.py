"""MM4 (3GPP TS 23.140 §6.8, §8.4; GSMA IR.52) between MMSCs and MM3 to e-mail, over SMTP."""
