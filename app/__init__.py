"""eligibility-gateway: certified State data and a CCAS's règlement, evaluated and journaled."""
