"""Live health checks: one module per kind, a runner that schedules them concurrently."""
