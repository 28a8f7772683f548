"""Intake: drafts saved after every answer, and their submission as a case.

Every method is one unit of work. Ownership is checked inside the same transaction that
reads or writes, so a forged draft or case id from another user's button reaches nothing.
The service is one object for the handlers (workflow data ``intake``), assembled from one
part per concern:

- ``records``       – models, errors, the shared state and row helpers;
- ``drafts``        – open, answer, go back, discard; saved details with consent;
- ``evidence``      – files and their limits;
- ``submission``    – a complete draft becomes a case;
- ``citizen_cases`` – the citizen's cases, withdrawal, notes, the 复查 request.
"""

from __future__ import annotations

from cases.intake.citizen_cases import CitizenCases
from cases.intake.drafts import DraftSteps
from cases.intake.evidence import Evidence
from cases.intake.submission import Submission


class IntakeService(DraftSteps, Evidence, Submission, CitizenCases):
    """The citizen-facing intake (each part keeps to its own tables and methods)."""


__all__ = ["IntakeService"]
