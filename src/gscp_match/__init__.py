"""gscp_match: match smart-city technical-assistance requests to experts and Korean benchmark cases."""

from __future__ import annotations

__version__ = "0.1.0"
