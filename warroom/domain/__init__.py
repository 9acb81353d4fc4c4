"""The pure model of an incident: no I/O, no Textual, clock always injected."""
