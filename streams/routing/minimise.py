"""Per-recipient minimisation: each recipient sees only what its profile allows.

A Member State sees the subjects who are its nationals or its deployed personnel,
never another state's — and no interim action that names another state's subject.
The confidential record (narrative) travels only to profiles allowed to see it.
"""

from __future__ import annotations

from seabus.schemas.enums import RecipientClass
from seabus.schemas.models import Allegation, InterimAction, Subject
from seabus.streams.routing.rules import Profile


def _own(subject: Subject, recipient: str) -> bool:
    return recipient in (subject.nationality, subject.contributing_state)


def minimise(
    allegation: Allegation, *, recipient: str, recipient_class: RecipientClass, profile: Profile
) -> Allegation:
    """The snapshot this recipient may receive."""
    if profile.subjects == "all":
        subjects = allegation.subjects
    elif profile.subjects == "own" and recipient_class is RecipientClass.MEMBER_STATE:
        subjects = tuple(s for s in allegation.subjects if _own(s, recipient))
    else:
        subjects = ()
    kept_refs = {s.subject_ref for s in subjects}
    interim: tuple[InterimAction, ...] = ()
    if not profile.interim_actions:
        pass
    else:
        # An action about a subject the recipient may not see keeps its kind but loses the reference.
        interim = tuple(
            a
            if a.subject_ref is None or a.subject_ref in kept_refs
            else a.model_copy(update={"subject_ref": None})
            for a in allegation.interim_actions
        )
    return allegation.model_copy(
        update={
            "subjects": subjects,
            "interim_actions": interim,
            "victims": allegation.victims if profile.victims else (),
            "outcome": allegation.outcome if profile.outcome else None,
            "confidential": allegation.confidential if profile.confidential else None,
        }
    )
