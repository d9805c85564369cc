"""Channel sync: every sales channel shows what can really be sold (issue 15)."""
