"""The Idea aggregate: from submission through decision to implementation.

Over 400 lines on purpose: an aggregate keeps its explicit event classes beside the rules
that emit them, so an event and the check before it are read together.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from domain.base import GroundswellAggregate
from domain.challenge import Challenge
from domain.errors import AlreadyDone, InvalidInput, NotPermitted, WrongStage
from domain.person import Person, Role
from domain.reward_policy import RewardReason, prize_reason
from domain.reward_subject import RewardSubject
from domain.validation import NAME_MAX, TITLE_MAX, text


class IdeaStatus(StrEnum):
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under review"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IN_IMPLEMENTATION = "in implementation"
    IMPLEMENTED = "implemented"
    ABANDONED = "abandoned"
    WITHDRAWN = "withdrawn"
    MERGED = "merged"


OPEN_FOR_INPUT = frozenset(
    {
        IdeaStatus.SUBMITTED,
        IdeaStatus.UNDER_REVIEW,
        IdeaStatus.ACCEPTED,
        IdeaStatus.IN_IMPLEMENTATION,
        IdeaStatus.IMPLEMENTED,
        IdeaStatus.ABANDONED,
        IdeaStatus.REJECTED,
    }
)
UNDECIDED = frozenset({IdeaStatus.SUBMITTED, IdeaStatus.UNDER_REVIEW})


class Idea(GroundswellAggregate):
    """An idea put into an open challenge by its author, alone or with a team."""

    class Submitted(GroundswellAggregate.Created):
        title: str
        description: str
        author: str
        department: str

    class Edited(GroundswellAggregate.Event):
        title: str
        description: str

        def apply(self, idea: Idea) -> None:
            idea.title, idea.description = self.title, self.description

    class Withdrawn(GroundswellAggregate.Event):
        def apply(self, idea: Idea) -> None:
            idea.status = IdeaStatus.WITHDRAWN

    class TeamMemberInvited(GroundswellAggregate.Event):
        invitee: str

        def apply(self, idea: Idea) -> None:
            idea.invited.add(self.invitee)

    class TeamMemberJoined(GroundswellAggregate.Event):
        member: str
        department: str

        def apply(self, idea: Idea) -> None:
            idea.invited.discard(self.member)
            idea.team.append(self.member)

    class ReviewerAsked(GroundswellAggregate.Event):
        reviewer: str

        def apply(self, idea: Idea) -> None:
            idea.reviewers.append(self.reviewer)

    class ReviewStarted(GroundswellAggregate.Event):
        def apply(self, idea: Idea) -> None:
            idea.status = IdeaStatus.UNDER_REVIEW

    class Accepted(GroundswellAggregate.Event):
        note: str

        def apply(self, idea: Idea) -> None:
            idea.status = IdeaStatus.ACCEPTED
            idea.was_accepted = True

    class Rejected(GroundswellAggregate.Event):
        reason: str

        def apply(self, idea: Idea) -> None:
            idea.status = IdeaStatus.REJECTED
            idea.decision_reason = self.reason

    class MergedInto(GroundswellAggregate.Event):
        """This idea is a duplicate; its endorsements and contributions count for the target."""

        target_idea_id: UUID

        def apply(self, idea: Idea) -> None:
            idea.status_before_merge = idea.status
            idea.status = IdeaStatus.MERGED
            idea.merged_into = self.target_idea_id

    class MergeUndone(GroundswellAggregate.Event):
        target_idea_id: UUID

        def apply(self, idea: Idea) -> None:
            idea.status = idea.status_before_merge or IdeaStatus.SUBMITTED
            idea.merged_into = None

    class DuplicateAbsorbed(GroundswellAggregate.Event):
        duplicate_idea_id: UUID

        def apply(self, idea: Idea) -> None:
            idea.duplicates.append(self.duplicate_idea_id)

    class DuplicateReleased(GroundswellAggregate.Event):
        duplicate_idea_id: UUID

        def apply(self, idea: Idea) -> None:
            idea.duplicates.remove(self.duplicate_idea_id)

    class TakenOver(GroundswellAggregate.Event):
        """The line organisation owns the idea now."""

        owner: str
        core_process: str
        external_ref: str

        def apply(self, idea: Idea) -> None:
            idea.status = IdeaStatus.IN_IMPLEMENTATION
            idea.owner = self.owner
            idea.core_process = self.core_process
            idea.external_ref = self.external_ref
            idea.take_over_requests.clear()

    class TakeOverRequested(GroundswellAggregate.Event):
        """An owner asks to take the idea over; the challenge's managers decide."""

        owner: str
        core_process: str
        external_ref: str

        def apply(self, idea: Idea) -> None:
            idea.take_over_requests[self.owner] = (self.core_process, self.external_ref)

    class OwnerReassigned(GroundswellAggregate.Event):
        """The challenge's managers give the implementation to another owner."""

        owner: str
        previous_owner: str

        def apply(self, idea: Idea) -> None:
            idea.owner = self.owner

    class ProgressReported(GroundswellAggregate.Event):
        note: str

        def apply(self, idea: Idea) -> None:
            idea.progress.append(self.note)

    class Implemented(GroundswellAggregate.Event):
        impact: str

        def apply(self, idea: Idea) -> None:
            idea.status = IdeaStatus.IMPLEMENTED
            idea.impact = self.impact

    class Abandoned(GroundswellAggregate.Event):
        reason: str

        def apply(self, idea: Idea) -> None:
            idea.status = IdeaStatus.ABANDONED
            idea.decision_reason = self.reason

    def __init__(
        self,
        *,
        event_id: UUID,
        actor: str,
        challenge_id: UUID | None,
        title: str,
        description: str,
        author: str,
        department: str,
    ) -> None:
        assert challenge_id is not None
        self.challenge_id: UUID = challenge_id
        self.title = title
        self.description = description
        self.author = author
        self.department = department
        self.status = IdeaStatus.SUBMITTED
        self.status_before_merge: IdeaStatus | None = None
        self.team: list[str] = [author]
        self.invited: set[str] = set()
        self.reviewers: list[str] = []
        self.was_accepted = False
        self.decision_reason: str | None = None
        self.merged_into: UUID | None = None
        self.duplicates: list[UUID] = []
        self.owner: str | None = None
        # Owners who asked to take the idea over: (core process, external reference).
        self.take_over_requests: dict[str, tuple[str, str]] = {}
        self.core_process: str | None = None
        self.external_ref: str | None = None
        self.progress: list[str] = []
        self.impact: str | None = None

    def _scope(self) -> UUID | None:
        return self.challenge_id

    # -- contributor commands ------------------------------------------------------------

    @classmethod
    def submit(
        cls,
        idea_id: UUID,
        challenge: Challenge,
        author: Person,
        *,
        title: str,
        description: str,
        at: datetime,
    ) -> Idea:
        challenge.require_open_for_submissions(at)
        author.require_can_take_part("submit ideas")
        return cls._begin(
            cls.Submitted,
            idea_id,
            author.handle,
            at,
            challenge_id=challenge.id,
            title=text("title", title, max_len=TITLE_MAX),
            description=text("description", description),
            author=author.handle,
            department=author.department,
        )

    def edit(
        self, challenge: Challenge, *, title: str, description: str, actor: str, at: datetime
    ) -> None:
        challenge.require_active("edit ideas")
        self._require_team(actor, "edit it")
        self._require_status({IdeaStatus.SUBMITTED}, "edited (ideas can be edited until review)")
        self._record(
            self.Edited,
            actor,
            at,
            title=text("title", title, max_len=TITLE_MAX),
            description=text("description", description),
        )

    def withdraw(self, challenge: Challenge, *, actor: str, at: datetime) -> None:
        challenge.require_active("withdraw ideas")
        if actor != self.author:
            raise NotPermitted("only the author may withdraw an idea.")
        self._require_status(UNDECIDED, "withdrawn")
        self._record(self.Withdrawn, actor, at)

    def invite(
        self, challenge: Challenge, invitee: Person, *, has_endorsed: bool, actor: str, at: datetime
    ) -> None:
        """Invite someone to the team. Endorsers and reviewers stay independent of it."""
        challenge.require_active("invite team members")
        self._require_team(actor, "invite team members")
        invitee.require_can_take_part("join idea teams")
        if has_endorsed:
            raise NotPermitted(
                f"{invitee.handle} endorsed this idea; endorsers stay independent of its team."
            )
        if invitee.handle in self.reviewers:
            raise NotPermitted(f"{invitee.handle} reviews this idea and cannot join its team.")
        self._require_status(UNDECIDED | {IdeaStatus.ACCEPTED}, "given new team members")
        if invitee.handle in self.team:
            raise AlreadyDone(f"{invitee.handle} is already on the team.", field="invitee")
        if invitee.handle in self.invited:
            raise AlreadyDone(f"{invitee.handle} has already been invited.", field="invitee")
        self._record(self.TeamMemberInvited, actor, at, invitee=invitee.handle)

    def join(
        self, challenge: Challenge, member: Person, *, has_endorsed: bool, at: datetime
    ) -> None:
        """The invitee accepts the invitation; only they can."""
        challenge.require_active("join idea teams")
        if member.handle not in self.invited:
            raise NotPermitted(f"{member.handle} has not been invited to this idea's team.")
        if has_endorsed:
            raise NotPermitted(
                f"{member.handle} endorsed this idea; endorsers stay independent of its team."
            )
        if member.handle in self.reviewers:
            raise NotPermitted(f"{member.handle} reviews this idea and cannot join its team.")
        self._require_status(UNDECIDED | {IdeaStatus.ACCEPTED}, "joined")
        self._record(
            self.TeamMemberJoined,
            member.handle,
            at,
            member=member.handle,
            department=member.department,
        )

    # -- manager commands -----------------------------------------------------------------

    def ask_reviewer(
        self, challenge: Challenge, reviewer: Person, *, actor: str, at: datetime
    ) -> None:
        challenge.require_manager(actor, "ask for reviews")
        challenge.require_active("ask for reviews")
        reviewer.require_can_take_part("review ideas")
        self._require_status(UNDECIDED, "reviewed")
        if reviewer.handle in self.team or reviewer.handle in self.invited:
            raise InvalidInput("a team member cannot review their own idea.", field="reviewer")
        if reviewer.handle in self.reviewers:
            raise AlreadyDone(f"{reviewer.handle} has already been asked.", field="reviewer")
        self._record(self.ReviewerAsked, actor, at, reviewer=reviewer.handle)

    def start_review(self, challenge: Challenge, *, actor: str, at: datetime) -> None:
        challenge.require_manager(actor, "put ideas under review")
        challenge.require_active("review ideas")
        self._require_status({IdeaStatus.SUBMITTED}, "put under review")
        self._record(self.ReviewStarted, actor, at)

    def accept(self, challenge: Challenge, *, note: str = "", actor: str, at: datetime) -> None:
        challenge.require_manager(actor, "accept ideas")
        challenge.require_active("decide on ideas")
        self._require_status({IdeaStatus.UNDER_REVIEW}, "accepted (put it under review first)")
        self._record(self.Accepted, actor, at, note=text("note", note, required=False))

    def reject(self, challenge: Challenge, *, reason: str, actor: str, at: datetime) -> None:
        challenge.require_manager(actor, "reject ideas")
        challenge.require_active("decide on ideas")
        self._require_status(UNDECIDED, "rejected")
        self._record(self.Rejected, actor, at, reason=text("reason", reason))

    def merge_into(self, target: Idea, challenge: Challenge, *, actor: str, at: datetime) -> None:
        """Mark this idea a duplicate of ``target``; call ``absorb`` on the target too."""
        challenge.require_manager(actor, "merge ideas")
        challenge.require_active("merge ideas")
        if target.id == self.id:
            raise InvalidInput("an idea cannot be merged into itself.", field="target_idea_id")
        if target.challenge_id != self.challenge_id:
            raise InvalidInput(
                "ideas can only be merged within one challenge.", field="target_idea_id"
            )
        self._require_status(UNDECIDED, "merged")
        if target.status in (IdeaStatus.MERGED, IdeaStatus.WITHDRAWN):
            raise WrongStage(f"the target idea is {target.status.value}; merge into a live idea.")
        if self.duplicates:
            raise WrongStage("this idea has duplicates merged into it; undo those merges first.")
        self._record(self.MergedInto, actor, at, target_idea_id=target.id)
        target._record(target.DuplicateAbsorbed, actor, at, duplicate_idea_id=self.id)

    def undo_merge(self, target: Idea, challenge: Challenge, *, actor: str, at: datetime) -> None:
        challenge.require_manager(actor, "undo merges")
        challenge.require_active("undo merges")
        if self.status is not IdeaStatus.MERGED or self.merged_into != target.id:
            raise WrongStage("this idea is not merged into that idea.")
        self._record(self.MergeUndone, actor, at, target_idea_id=target.id)
        target._record(target.DuplicateReleased, actor, at, duplicate_idea_id=self.id)

    # -- implementation owner commands ------------------------------------------------------

    def take_over(
        self,
        challenge: Challenge,
        owner: Person,
        *,
        core_process: str,
        external_ref: str,
        actor: str,
        at: datetime,
    ) -> None:
        """A manager hands an accepted idea over to ``owner``; an owner who asks for it
        themselves records a request, which a manager accepts by handing it over to them
        (then the request's core process and reference stand unless others are given)."""
        is_manager = challenge.is_manager(actor)
        if not is_manager and actor != owner.handle:
            raise NotPermitted(
                f"only the managers of {challenge.title!r} hand an idea over to an owner; "
                "an owner may ask to take it over for themselves."
            )
        owner.require_role(Role.OWNER, "own an idea's implementation")
        self._require_status(
            {IdeaStatus.ACCEPTED},
            "taken over (only accepted ideas are; the managers reassign the owner of an idea "
            "in implementation)",
        )
        requested = self.take_over_requests.get(owner.handle)
        if not is_manager:
            if requested is not None:
                raise AlreadyDone(
                    f"{owner.handle} has already asked to take this idea over; the managers "
                    f"of {challenge.title!r} decide.",
                    field="owner",
                )
            event_class: type[GroundswellAggregate.Event] = self.TakeOverRequested
        else:
            event_class = self.TakenOver
            if requested is not None and not core_process.strip():
                core_process, external_ref = requested[0], external_ref or requested[1]
        self._record(
            event_class,
            actor,
            at,
            owner=owner.handle,
            core_process=text("core_process", core_process, max_len=NAME_MAX),
            external_ref=text("external_ref", external_ref, max_len=NAME_MAX, required=False),
        )

    def reassign_owner(
        self, challenge: Challenge, owner: Person, *, actor: str, at: datetime
    ) -> None:
        """The challenge's managers give an idea in implementation to another owner."""
        challenge.require_manager(actor, "reassign an idea's owner")
        owner.require_role(Role.OWNER, "own an idea's implementation")
        self._require_status(
            {IdeaStatus.IN_IMPLEMENTATION},
            "given another owner (only an idea in implementation has one)",
        )
        if owner.handle == self.owner:
            raise AlreadyDone(f"{owner.handle} already owns this idea.", field="owner")
        assert self.owner is not None  # in implementation
        self._record(self.OwnerReassigned, actor, at, owner=owner.handle, previous_owner=self.owner)

    def report_progress(self, note: str, *, actor: str, at: datetime) -> None:
        self._require_owner(actor, "report progress")
        self._require_status({IdeaStatus.IN_IMPLEMENTATION}, "given progress reports")
        self._record(self.ProgressReported, actor, at, note=text("note", note))

    def mark_implemented(self, impact: str, *, actor: str, at: datetime) -> None:
        self._require_owner(actor, "mark it implemented")
        self._require_status({IdeaStatus.IN_IMPLEMENTATION}, "marked implemented")
        self._record(self.Implemented, actor, at, impact=text("impact", impact))

    def abandon(self, reason: str, *, actor: str, at: datetime) -> None:
        self._require_owner(actor, "abandon it")
        self._require_status({IdeaStatus.IN_IMPLEMENTATION}, "abandoned")
        self._record(self.Abandoned, actor, at, reason=text("reason", reason))

    # -- what others ask -------------------------------------------------------------------

    def require_open_for_input(self) -> None:
        if self.status is IdeaStatus.MERGED:
            raise WrongStage(f"this idea was merged into {self.merged_into}; contribute there.")
        if self.status not in OPEN_FOR_INPUT:
            raise WrongStage(f"this idea is {self.status.value}; it takes no more input.")

    def as_reward_subject(self) -> RewardSubject:
        qualifies: set[str] = set()
        if self.was_accepted and self.status not in (IdeaStatus.MERGED, IdeaStatus.WITHDRAWN):
            qualifies.add(RewardReason.IDEA_ACCEPTED.value)
            qualifies.update(prize_reason(rank) for rank in range(1, 11))
        if self.status is IdeaStatus.IMPLEMENTED:
            qualifies.add(RewardReason.IDEA_IMPLEMENTED.value)
        return RewardSubject(
            kind="idea",
            id=self.id,
            challenge_id=self.challenge_id,
            status=self.status.value,
            qualifies_for=frozenset(qualifies),
            shares={member: 1 for member in self.team},
        )

    def _require_team(self, actor: str, doing: str) -> None:
        if actor not in self.team:
            raise NotPermitted(f"only the idea's team may {doing}.")

    def _require_owner(self, actor: str, doing: str) -> None:
        if self.owner is None:
            raise WrongStage(f"nobody owns this idea's implementation yet; nobody can {doing}.")
        if actor != self.owner:
            raise NotPermitted(f"only the owner, {self.owner}, may {doing}.")

    def _require_status(self, allowed: set[IdeaStatus] | frozenset[IdeaStatus], what: str) -> None:
        if self.status not in allowed:
            raise WrongStage(f"this idea is {self.status.value} and cannot be {what}.")
