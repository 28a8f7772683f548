"""Who may take a mediation case: the room's mediators serving the category, present,
under their load and without a conflict of interest (回避); a room that is itself a party or
has no one left hands the case to the default room."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from cases.mediation.assignment_records import (
    OPEN_SQL,
    OPEN_VALUES,
    AssignmentBase,
    Candidate,
    Outgoing,
    add_event,
    compact_text,
    select_all,
    select_one,
)
from cases.mediation.profiles import normalise_phone
from cases.org.organisation import UnknownId
from cases.org.users import Role
from cases.store.db import Connection
from cases.store.time import from_db


class Eligibility(AssignmentBase):
    """The candidates for an offer, best first, and the room moves."""

    def _agency_of_dispute(self, case: Any, answers: Mapping[str, Any]) -> str | None:
        """The agency the dispute is with: named in the answers, or the other side's name
        matching an agency of the organisation file."""
        agency_id = answers.get("respondent_id")
        if agency_id and not str(agency_id).startswith("text:"):
            return str(agency_id)
        other = compact_text(str(answers.get("other_party_name") or case["respondent"] or ""))
        if not other:
            return None
        for agency in self.org.agencies:
            name = compact_text(agency.name)
            if name and (name in other or (len(other) >= 4 and other in name)):
                return agency.id
        return None

    def _parties(self, conn: Connection, case_id: int) -> tuple[set[str], str]:
        """The parties' names and every phone digit run found in their details and answers."""
        rows = select_all(
            conn, "SELECT name, phone, details FROM parties WHERE case_id = ?", (case_id,)
        )
        names = {compact_text(r[0]) for r in rows if compact_text(r[0])}
        digits = " ".join(re.sub(r"[\s-]", "", f"{r[1] or ''} {r[2] or ''}") for r in rows)
        return names, digits

    def _conflicted(
        self,
        candidate: Candidate,
        names: set[str],
        digits: str,
        dispute_agency: str | None,
        room_agency: str | None,
    ) -> bool:
        for name in candidate.names:
            if len(name) >= 2 and any(name == party or name in party for party in names):
                return True
        if candidate.phone and candidate.phone in digits:
            return True
        return dispute_agency is not None and dispute_agency == room_agency

    def _candidates(
        self, conn: Connection, case: Mapping[str, Any], *, any_state: bool = False
    ) -> list[Candidate]:
        """The eligible mediators of the case's room, best first. ``any_state``: the lead
        assigning by hand may pass over skills, absence and load, never a conflict."""
        room_id = str(case["routed_to"] or "").removeprefix("room:")
        try:
            room = self.org.room(room_id)
        except UnknownId:
            return []
        answers = json.loads(case["answers"] or "{}")
        rows = select_all(
            conn,
            "SELECT u.telegram_id, u.display_name, p.shown_name, p.phone, p.max_load,"
            " p.real_name"
            " FROM users u LEFT JOIN mediator_profiles p ON p.user_id = u.telegram_id"
            " WHERE u.role = 'mediator' AND u.unit = ? ORDER BY u.telegram_id",
            (room_id,),
        )
        if not rows:
            return []
        found = {
            int(r[0]): Candidate(
                user_id=int(r[0]),
                # The real name, once given, is the one checked: a Telegram nickname ("小王")
                # or a shown name would otherwise bar mediators for look-alike parties, and a
                # conflict is not the lead's to override. Without it, both stand in.
                names=(
                    (compact_text(r[5]),)
                    if compact_text(r[5])
                    else tuple(n for n in (compact_text(r[1]), compact_text(r[2])) if n)
                ),
                phone=normalise_phone(r[3]),
                max_load=int(r[4] or self.settings.default_max_load),
            )
            for r in rows
        }
        ids = tuple(found)
        marks = ",".join("?" for _ in ids)
        for r in select_all(
            conn,
            f"SELECT user_id, category_id FROM mediator_skills WHERE user_id IN ({marks})",
            ids,
        ):
            found[int(r[0])].skills.add(str(r[1]))
        for r in select_all(
            conn,
            f"SELECT mediator_id, count(*) FROM cases WHERE mediator_id IN ({marks})"
            f" AND status IN ({OPEN_SQL}) GROUP BY mediator_id",
            (*ids, *OPEN_VALUES),
        ):
            found[int(r[0])].load += int(r[1])
        for r in select_all(
            conn,
            "SELECT mediator_id, sum(CASE WHEN status = 'pending' THEN 1 ELSE 0 END),"
            " max(CASE WHEN status = 'accepted' THEN answered_at END)"
            f" FROM mediation_offers WHERE mediator_id IN ({marks})"
            " AND status IN ('pending', 'accepted') GROUP BY mediator_id",
            ids,
        ):
            found[int(r[0])].load += int(r[1] or 0)
            found[int(r[0])].idle_since = str(r[2] or "")
        declared = {
            int(r[0])
            for r in select_all(
                conn, "SELECT user_id FROM mediator_conflicts WHERE case_id = ?", (case["id"],)
            )
        }
        passed = {
            int(r[0])
            for r in select_all(
                conn,
                "SELECT mediator_id FROM mediation_offers WHERE case_id = ?"
                " AND status IN ('declined', 'expired')",
                (case["id"],),
            )
        }
        absent: set[int] = set()
        if not any_state:
            today = self.today().isoformat()
            absent = {
                int(r[0])
                for r in select_all(
                    conn,
                    f"SELECT user_id FROM mediator_absences WHERE user_id IN ({marks})"
                    " AND starts_on <= ? AND ends_on >= ?",
                    (*ids, today, today),
                )
            }
        names, digits = self._parties(conn, int(case["id"]))
        dispute_agency = self._agency_of_dispute(case, answers)
        category = str(answers.get("category_id") or "")
        eligible = []
        for candidate in found.values():
            if self._conflicted(candidate, names, digits, dispute_agency, room.agency_id):
                continue
            if candidate.user_id in declared:
                continue
            if not any_state:
                if candidate.user_id in passed:
                    continue
                if candidate.skills and category not in candidate.skills:
                    continue
                if candidate.user_id in absent or candidate.load >= candidate.max_load:
                    continue
            eligible.append(candidate)
        eligible.sort(key=lambda c: (c.load, c.idle_since, c.user_id))
        return eligible

    def _room_is_a_party(self, case: Any) -> bool:
        """The dispute is with the agency the case's room belongs to, and that room is not the
        county's default room: nobody of the room may mediate it (回避)."""
        room_id = str(case["routed_to"] or "").removeprefix("room:")
        try:
            room = self.org.room(room_id)
        except UnknownId:
            return False
        if room.default or room.agency_id is None:
            return False
        answers = json.loads(case["answers"] or "{}")
        return self._agency_of_dispute(case, answers) == room.agency_id

    def _room_all_recused(self, conn: Connection, case: Any) -> bool:
        """Every mediator of the case's room (there is at least one) has a conflict of interest
        on it, and the room is not the default one: the lead could not assign it either, so
        the case would wait for ever (a small township room related to a party)."""
        room_id = str(case["routed_to"] or "").removeprefix("room:")
        try:
            room = self.org.room(room_id)
        except UnknownId:
            return False
        if room.default:
            return False
        staffed = select_one(
            conn,
            "SELECT 1 FROM users WHERE role = 'mediator' AND unit = ? LIMIT 1",
            (room_id,),
        )
        return staffed is not None and not self._candidates(conn, case, any_state=True)

    def _move_to_default_room(
        self, conn: Connection, case: Any, stamp: str, *, recused: bool = False
    ) -> Any:
        """Hand the case to the county's default room (the one that takes what no other room
        takes), recorded in the history; returns the case as it now is. ``recused``: every
        mediator of the room has a conflict, rather than the room's agency being the party."""
        room = self.org.default_room
        source = str(case["routed_to"] or "").removeprefix("room:")
        conn.execute(
            "UPDATE cases SET routed_to = ?, routed_to_name = ?, updated_at = ? WHERE id = ?",
            (f"room:{room.id}", room.name, stamp, case["id"]),
        )
        add_event(
            conn,
            int(case["id"]),
            at=stamp,
            actor_id=None,
            actor_role="system",
            kind="mediation_moved_recused" if recused else "mediation_moved",
            detail={"from": source, "to": room.id},
        )
        moved = self._case(conn, int(case["id"]))
        # The citizen was told at submission which room handles the case: they are told that
        # it changed, and why, not left to find another room's name later.
        params = self._case_params(moved)
        try:
            before = self.org.room(source)
            params |= {"from_room_zh": before.name, "from_room_en": before.name_en}
        except UnknownId:
            pass
        self._queue(
            conn,
            Outgoing(
                f"asg:moved:{case['id']}:{room.id}",
                int(case["citizen_id"]),
                Role.citizen,
                "citizen_moved_recused" if recused else "citizen_moved",
                params,
            ),
            from_db(stamp),
        )
        return moved
