"""Apply one migration history to a fleet: many databases, or tenant schemas in them.

config (fleet.yaml -> FleetSpec) -> targets (FleetSpec -> list[Target]) -> runner
(Job + targets -> FleetResult, each target by tasks.run in a worker process).
"""
