"""warroom: a full-screen terminal console for a production incident's war room."""

__version__ = "0.1.0"
