"""Replay (issue 6): re-simulating recorded missions in lock-step, with what-if overrides, and comparing the
re-simulated run with the recorded one. initial_state.py names what a recording must hold for it."""
