"""A site's processes: the elected leader, its standby and the replicas (docs/architecture.md, "Processes")."""
