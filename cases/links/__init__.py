"""Linked cases, reopening a resolved case, and repeat contacts found when a case opens."""
