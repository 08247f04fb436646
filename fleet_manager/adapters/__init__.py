"""Robot adapters: one interface (base.py) and one adapter per robot API (labfleet, nav2, vda5050)."""
