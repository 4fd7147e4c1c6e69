"""Bulk work for supervisors: reassign, extend the deadline of, or hold many with one reason."""
