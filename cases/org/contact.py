"""How an office is reached, as a reminder or a page names it: from the organisation file."""

from __future__ import annotations

from cases.org.organisation import Office, Organisation


def office_contact(org: Organisation, role: str, locale: str = "zh") -> str:
    """The office's name, phone and address (``offices`` in the organisation file); the county
    hotline where the file has no phone for the office yet, so the reader can always call."""
    office: Office | None = org.office_for_role(role)
    if office is None:
        return org.hotline or ""
    parts = [office.display_name(locale)]
    phone = office.phone or org.hotline
    if phone:
        parts.append(("tel. " if locale == "en" else "电话 ") + phone)
    if office.address:
        parts.append(office.address)
    return " · ".join(parts)
