"""A citizen's form in progress: a draft row saved after every answer, answers parsed by the
form spec (cases/intake/forms.py), the saved personal details offered with consent."""

from __future__ import annotations

import json
from typing import Any

from cases.intake.form_engine import Gate, Kind, Procedure, split_contact
from cases.intake.forms import (
    CHANGE_SAVED,
    FORMS,
    HAS_SAVED,
    OTHER_ID,
    RESIDENT_ID,
    SAVED_KEY,
    USE_SAVED,
)
from cases.intake.records import (
    SAVED_FIELDS,
    Draft,
    DraftNotFound,
    IntakeBase,
    SavedDetails,
    draft_from_row,
)
from cases.intake.timeliness import F1_PASSED, f1_passed, timeliness
from cases.store.db import UnitConnection, row_in, rows_in
from cases.store.time import to_db


class DraftSteps(IntakeBase):
    """Drafts: open, answer, go back, discard; saved details."""

    # drafts -----------------------------------------------------------------------------

    async def open_draft(self, user_id: int, procedure: Procedure) -> tuple[Draft, bool]:
        """The user's open draft for this procedure (resumed=True), or a new one."""
        now = to_db(self._clock.now())
        spec = FORMS[procedure]
        async with self._db.transaction() as conn:
            row = await row_in(
                conn,
                "SELECT * FROM drafts WHERE user_id = ? AND procedure = ? AND status = 'open'",
                (user_id, procedure.value),
            )
            if row is not None:
                return self._cache(draft_from_row(row)), True
            saved = await row_in(
                conn, "SELECT 1 FROM saved_details WHERE user_id = ? AND consent = 1", (user_id,)
            )
            start: dict[str, Any] = {HAS_SAVED: True} if saved else {}
            first = spec.next_field(start)
            cursor = await conn.execute(
                "INSERT INTO drafts(user_id, procedure, answers, step, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    user_id,
                    procedure.value,
                    json.dumps(start),
                    first.key if first else None,
                    now,
                    now,
                ),
            )
            draft_id = int((await cursor.fetchone())[0])
        draft = await self.get_draft(draft_id, user_id=user_id)
        return draft, False

    async def open_draft_id(self, user_id: int, procedure: Procedure) -> int | None:
        """The user's open draft for this procedure, if there is one (nothing is created)."""
        found = await self._db.fetch_value(
            "SELECT id FROM drafts WHERE user_id = ? AND procedure = ? AND status = 'open'",
            (user_id, procedure.value),
        )
        return None if found is None else int(found)

    async def get_draft(self, draft_id: int, *, user_id: int) -> Draft:
        cached = self._drafts.get(draft_id)
        if cached is not None:
            if cached.user_id != user_id:
                raise DraftNotFound(draft_id)
            return cached
        row = await self._db.fetch_one(
            "SELECT * FROM drafts WHERE id = ? AND user_id = ? AND status = 'open'",
            (draft_id, user_id),
        )
        if row is None:
            raise DraftNotFound(draft_id)
        return self._cache(draft_from_row(row))

    async def save_answer(
        self, draft_id: int, *, user_id: int, key: str, value: Any
    ) -> tuple[Draft, Gate | None]:
        """Store one answer and move to the next unanswered question (None: ready to review).

        A gate (the matter belongs elsewhere) ends the draft: nothing is filed in the wrong
        channel, and the citizen is told where to go.
        """
        draft = await self.get_draft(draft_id, user_id=user_id)
        spec = draft.spec
        field = spec.field(key, draft.answers)
        answers = dict(draft.answers)
        if key in answers and answers[key] != value:
            for dependent in field.clears:  # checked against the old answer: ask again
                answers.pop(dependent, None)
        answers[key] = value
        if field.kind is Kind.saved:
            details = await self.saved_details(user_id) if value == USE_SAVED else None
            if details is None:
                answers[key] = CHANGE_SAVED  # deleted meanwhile (/forgetme): ask them
            else:
                answers.update(_details_answers(details, draft.procedure))
        if field.kind is Kind.id_number and "id_type" not in answers:
            answers["id_type"] = RESIDENT_ID  # typed without the "other document" button
        if field.contact_key and isinstance(value, str):
            answers[key], answers[field.contact_key] = split_contact(value)
        if draft.procedure is Procedure.reconsideration:
            answers[F1_PASSED] = f1_passed(answers, self.today(), self.engine)
            answers["_late"] = timeliness(answers, self.today(), self.engine).late
        gate = field.gate(answers, self.org) if field.gate else None
        following = spec.next_field(answers)
        status = "discarded" if gate else "open"
        params = (
            json.dumps(answers, ensure_ascii=False),
            following.key if following else None,
            status,
            to_db(self._clock.now()),
            draft_id,
            user_id,
        )
        changed = await self._db.run(
            lambda conn: (
                conn.execute(
                    "UPDATE drafts SET answers = ?, step = ?, status = ?, updated_at = ?"
                    " WHERE id = ? AND user_id = ? AND status = 'open'",
                    params,
                ).rowcount
            )
        )
        if changed != 1:
            self._drafts.pop(draft_id, None)
            raise DraftNotFound(draft_id)
        updated = draft.model_copy(
            update={
                "answers": answers,
                "step": following.key if following else None,
                "status": status,
            }
        )
        return self._cache(updated), gate

    async def other_id_document(self, draft_id: int, *, user_id: int) -> Draft:
        """The "not a resident ID card" button: ask the document type, then its number."""
        draft = await self.get_draft(draft_id, user_id=user_id)
        answers = {k: v for k, v in draft.answers.items() if k not in ("id_type", "id_number")}
        answers[OTHER_ID] = True
        following = draft.spec.next_field(answers)
        step = following.key if following else None
        changed = await self._db.execute(
            "UPDATE drafts SET answers = ?, step = ?, updated_at = ?"
            " WHERE id = ? AND user_id = ? AND status = 'open'",
            (
                json.dumps(answers, ensure_ascii=False),
                step,
                to_db(self._clock.now()),
                draft_id,
                user_id,
            ),
        )
        if changed != 1:
            self._drafts.pop(draft_id, None)
            raise DraftNotFound(draft_id)
        return self._cache(draft.model_copy(update={"answers": answers, "step": step}))

    # saved details (with consent) ---------------------------------------------------------

    async def saved_details(self, user_id: int) -> SavedDetails | None:
        row = await self._db.fetch_one(
            "SELECT name, id_type, id_number, phone, address FROM saved_details"
            " WHERE user_id = ? AND consent = 1",
            (user_id,),
        )
        if row is None:
            return None
        return SavedDetails(
            name=row[0], id_type=row[1], id_number=row[2], phone=row[3], address=row[4]
        )

    async def keep_details(self, case_id: int, *, user_id: int, consent: bool) -> bool:
        """The citizen's answer to "keep your details?": with consent, the applicant's details
        of their own case are copied; without, only the refusal is kept (no personal data), so
        the question is not asked again. False if the case is not theirs."""
        now = to_db(self._clock.now())
        async with self._db.transaction() as conn:
            row = await row_in(
                conn,
                "SELECT p.name, p.id_type, p.id_number, p.phone, p.address FROM parties p"
                " JOIN cases c ON c.id = p.case_id"
                " WHERE c.id = ? AND c.citizen_id = ? AND p.role = 'applicant'",
                (case_id, user_id),
            )
            if row is None:
                return False
            values = tuple(row) if consent else (None,) * 5
            await conn.execute(
                "INSERT INTO saved_details(user_id, consent, name, id_type, id_number, phone,"
                " address, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(user_id) DO UPDATE SET consent = excluded.consent,"
                " name = excluded.name, id_type = excluded.id_type,"
                " id_number = excluded.id_number, phone = excluded.phone,"
                " address = excluded.address, updated_at = excluded.updated_at",
                (user_id, int(consent), *values, now),
            )
        return True

    async def forget_details(self, user_id: int) -> bool:
        """/forgetme: the saved details go; filed cases stay (official records). True if
        anything was saved."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute("DELETE FROM saved_details WHERE user_id = ?", (user_id,))
            changed = cursor.rowcount
            # An open form that took the saved details holds a copy: it goes too, and the form
            # asks for them again (nothing of them is filed unless typed anew).
            for row in await rows_in(
                conn,
                "SELECT id, procedure, answers FROM drafts WHERE user_id = ? AND status = 'open'",
                (user_id,),
            ):
                answers = json.loads(row[2])
                if answers.get(SAVED_KEY) != USE_SAVED:
                    continue
                for key in (*SAVED_FIELDS, SAVED_KEY, HAS_SAVED, "applicant_kind"):
                    answers.pop(key, None)
                following = FORMS[Procedure(row[1])].next_field(answers)
                await conn.execute(
                    "UPDATE drafts SET answers = ?, step = ?, updated_at = ? WHERE id = ?",
                    (
                        json.dumps(answers, ensure_ascii=False),
                        following.key if following else None,
                        to_db(self._clock.now()),
                        row[0],
                    ),
                )
                self._drafts.pop(int(row[0]), None)
        return changed > 0

    async def _offer_to_save(
        self, conn: UnitConnection, user_id: int, answers: dict[str, Any]
    ) -> bool:
        """Asked once: not after a refusal, nor when the saved details were used as they are.
        After "enter other details", the citizen may keep the new ones instead."""
        row = await row_in(
            conn,
            "SELECT consent, name, id_type, id_number, phone, address FROM saved_details"
            " WHERE user_id = ?",
            (user_id,),
        )
        if row is None:
            return True
        if not row[0]:
            return False
        return tuple(row[1:]) != tuple(answers.get(key) for key in SAVED_FIELDS)

    async def reopen_field(self, draft_id: int, *, user_id: int, key: str) -> Draft:
        """'Edit' from the summary: ask this question again; other answers stay."""
        draft = await self.get_draft(draft_id, user_id=user_id)
        field = draft.spec.field(key, draft.answers)
        if not field.asked(draft.answers):
            raise KeyError(key)
        await self._db.execute(
            "UPDATE drafts SET step = ?, updated_at = ? WHERE id = ? AND user_id = ?",
            (key, to_db(self._clock.now()), draft_id, user_id),
        )
        return self._cache(draft.model_copy(update={"step": key}))

    async def discard_draft(self, draft_id: int, *, user_id: int) -> bool:
        self._drafts.pop(draft_id, None)
        changed = await self._db.execute(
            "UPDATE drafts SET status = 'discarded', updated_at = ?"
            " WHERE id = ? AND user_id = ? AND status = 'open'",
            (to_db(self._clock.now()), draft_id, user_id),
        )
        return changed == 1


def _details_answers(details: SavedDetails, procedure: Procedure) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "applicant_name": details.name,
        "id_type": details.id_type,
        "id_number": details.id_number,
        "phone": details.phone,
        "address": details.address,
    }
    if procedure is Procedure.reconsideration:
        answers["applicant_kind"] = "person"  # saved details are a person's own
    return answers
