"""The detector runtime: compiled models, evaluations, timers and actions."""
