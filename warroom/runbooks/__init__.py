"""Runbooks: the files on this machine, their read-only steps run and journaled."""
