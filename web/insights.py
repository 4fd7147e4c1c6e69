"""Supervisor insights: exception report, heatmap, trends, redesign candidates, scorecard (issue 7)."""
from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
