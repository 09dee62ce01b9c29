"""Pure core: parsing, grouping, redaction. Imports nothing that talks to a network."""
