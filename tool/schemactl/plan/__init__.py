"""ops -> Plan: what will change, in order, with its hazards."""
