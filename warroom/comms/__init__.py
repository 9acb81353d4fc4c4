"""What leaves the journal for people: exports, update templates, the postmortem."""

# The update templates by name, for pickers that must not import jinja2 (templates.py
# renders them).
TEMPLATE_NAMES: tuple[str, ...] = (
    "internal-update", "initial-alert", "resolution", "status-investigating",
    "status-identified", "status-monitoring", "status-resolved", "customer-email",
)
