"""What leaves the journal for people: exports, update templates, the postmortem."""
