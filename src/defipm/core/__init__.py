"""Pure core: types, weights, validation, planner, metrics. No I/O; imports nothing else from defipm."""
