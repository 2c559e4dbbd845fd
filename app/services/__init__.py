"""Use cases: each takes a Session (or the Runtime) and plain values, and returns plain values."""
