"""The core's inputs as arrays: a roster, a round of requests, a case catalog.

Rows are integer positions. A roster's rows are sorted by ``expert_id`` (so ties broken by position are ties broken
by id), a round's rows are in file order. Categorical columns are sparse 0/1 matrices over fixed vocabularies, so
request-expert overlaps are sparse or small dense matrix products. ``ids`` ride along as labels for the edges,
which turn results back into tables; nothing in the core reads them. They are built from validated tables by
:mod:`gscp_match.tables` (``expert_arrays``, ``request_arrays``, ``case_arrays``), the one place that maps ids to
rows.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

__all__ = ["ExpertArrays", "RequestArrays", "CaseArrays"]


@dataclass(frozen=True, slots=True)
class ExpertArrays:
    """A roster as arrays, rows sorted by ``expert_id``.

    Attributes
    ----------
    ids : (n_experts,) object array of str, sorted ascending (labels; the core never reads them).
    korean : (n_experts,) bool; Korean experience.
    day_rate : (n_experts,) float64; NaN where unknown.
    capacity : (n_experts,) int64; engagements per round.
    themes : (n_experts, len(THEME_CODES)) CSR 0/1.
    languages : (n_experts, len(LANGUAGE_CODES)) CSR 0/1.
    regions : (n_experts, len(REGION_CODES)) CSR 0/1; listed regions plus the regions of countries worked in.
    countries : (n_experts, len(COUNTRY_CODES)) CSR 0/1; countries worked in.
    busy_offsets : (n_experts + 1,) int64; busy intervals of expert ``e`` are ``[busy_offsets[e], busy_offsets[e+1])``.
    busy_start, busy_end : (n_intervals,) int64 inclusive day numbers.
    """

    ids: NDArray[np.object_]
    korean: NDArray[np.bool_]
    day_rate: NDArray[np.float64]
    capacity: NDArray[np.int64]
    themes: sp.csr_matrix
    languages: sp.csr_matrix
    regions: sp.csr_matrix
    countries: sp.csr_matrix
    busy_offsets: NDArray[np.int64]
    busy_start: NDArray[np.int64]
    busy_end: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, slots=True)
class RequestArrays:
    """A round of requests as arrays, rows in the table's order.

    Attributes
    ----------
    ids : (n_requests,) object array of str (labels; the core never reads them).
    days : (n_requests,) int64 working days needed; 0 where not given.
    has_window : (n_requests,) bool; window_start/window_end given.
    window_start, window_end : (n_requests,) int64 inclusive day numbers (0 where no window).
    wants_korean : (n_requests,) bool.
    budget : (n_requests,) float64; NaN where not given.
    experts_needed : (n_requests,) int64.
    themes, languages : CSR 0/1 over THEME_CODES and LANGUAGE_CODES.
    region : (n_requests,) int64 index into REGION_CODES, -1 where unknown.
    country : (n_requests,) int64 index into COUNTRY_CODES, -1 where unknown.
    """

    ids: NDArray[np.object_]
    days: NDArray[np.int64]
    has_window: NDArray[np.bool_]
    window_start: NDArray[np.int64]
    window_end: NDArray[np.int64]
    wants_korean: NDArray[np.bool_]
    budget: NDArray[np.float64]
    experts_needed: NDArray[np.int64]
    themes: sp.csr_matrix
    languages: sp.csr_matrix
    region: NDArray[np.int64]
    country: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, rows: NDArray[np.int64]) -> RequestArrays:
        """The requests at ``rows``, in that order (every field is per request, so each is indexed by ``rows``)."""
        rows = np.asarray(rows, dtype=np.int64)
        return RequestArrays(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})


@dataclass(frozen=True, slots=True)
class CaseArrays:
    """A case catalog as arrays, rows sorted by ``case_id``.

    Attributes
    ----------
    ids : (n_cases,) object array of str, sorted.
    themes : (n_cases, len(THEME_CODES)) CSR 0/1.
    """

    ids: NDArray[np.object_]
    themes: sp.csr_matrix

    def __len__(self) -> int:
        return len(self.ids)
