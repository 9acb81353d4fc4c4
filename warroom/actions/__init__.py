"""Mitigations: one module per target, and a runner that enforces preview, confirmation,
permission, evidence, audit and verification for every one of them."""
