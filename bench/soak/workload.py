"""What the clients do: a realistic mix of the users' commands over HTTP.

Managers draft and open challenges, review and decide ideas, mark comments helpful and
grant what the policy names (now and then a grant a second time, which must be refused);
an owner takes accepted ideas over and implements them; contributors submit ideas,
comment, endorse, redeem what they earned and read their own writes. Each actor is one
:class:`Client`, one command at a time, with a short pause between.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import NAMESPACE_URL, uuid5

from bench.soak.clients import Client, Command

POLICY = {
    "accepted_idea_points": 20,
    "implemented_idea_points": 50,
    "helpful_contribution_points": 5,
}
POT = 3_000
OPEN_CHALLENGES = 2  # per manager
DEPARTMENTS = ["Production", "Logistics", "Sales", "R&D", "Finance"]
# The one store item contributors redeem (run.py offers it before the clients start).
TEAM_LUNCH = uuid5(NAMESPACE_URL, "groundswell:soak:team-lunch")


@dataclass
class IdeaSeen:
    id: str
    challenge: str
    author: str
    status: str = "submitted"
    comments: list[tuple[str, str]] = field(default_factory=list)  # (contribution, author)
    rewarded: set[str] = field(default_factory=set)
    owner: str | None = None  # the owner who asked to take it over


@dataclass
class World:
    """What the clients know from their acknowledged commands (nothing from reads)."""

    challenges: dict[str, str] = field(default_factory=dict)  # id -> managing handle
    ideas: dict[str, IdeaSeen] = field(default_factory=dict)
    helpful: set[str] = field(default_factory=set)
    earned: Counter[str] = field(default_factory=Counter)
    redeemed: Counter[str] = field(default_factory=Counter)
    endorsed: set[tuple[str, str]] = field(default_factory=set)

    def ideas_of(self, manager: str, status: str) -> list[IdeaSeen]:
        return [
            i
            for i in self.ideas.values()
            if i.status == status and self.challenges.get(i.challenge) == manager
        ]


def ok(command: Command) -> bool:
    return command.outcome == "acknowledged"


def created(command: Command) -> str | None:
    return str(command.receipt["id"]) if ok(command) and command.receipt else None


async def pause(low: float = 0.05, high: float = 0.3) -> None:
    await asyncio.sleep(random.uniform(low, high))


async def manager(me: Client, world: World, stop: asyncio.Event) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        mine = [c for c, m in world.challenges.items() if m == me.handle]
        if len(mine) < OPEN_CHALLENGES:
            await launch(me, world, n)
        else:
            tasks = [decide, decide, hand_over, helpful, implemented_reward, top_up, again]
            await random.choice(tasks)(me, world, random.choice(mine))
        await pause()


async def launch(me: Client, world: World, n: int) -> None:
    deadline = (date.today() + timedelta(days=365)).isoformat()
    terms = {
        "title": f"{me.handle}'s challenge {n}",
        "question": "Where do we lose time between batches?",
        "sponsor": "COO",
        "target_departments": DEPARTMENTS[:3],
        "submission_deadline": deadline,
        "pot": POT,
        **POLICY,
    }
    challenge = created(await me.command("draft challenge", "POST", "/v1/challenges", terms))
    if challenge and ok(await me.command("open", "POST", f"/v1/challenges/{challenge}/open")):
        world.challenges[challenge] = me.handle


async def decide(me: Client, world: World, _challenge: str) -> None:
    waiting = world.ideas_of(me.handle, "submitted")
    if not waiting:
        return
    idea = random.choice(waiting)
    idea.status = "deciding"  # no other manager task picks it meanwhile
    if not ok(await me.command("review", "POST", f"/v1/ideas/{idea.id}/review")):
        return
    if random.random() < 0.3:
        reason = {"reason": "Out of scope for this challenge."}
        if ok(await me.command("reject", "POST", f"/v1/ideas/{idea.id}/reject", reason)):
            idea.status = "rejected"
        return
    if not ok(await me.command("accept", "POST", f"/v1/ideas/{idea.id}/accept", {"note": "Go"})):
        return
    idea.status = "accepted"
    await grant(me, world, idea, "idea-accepted", POLICY["accepted_idea_points"])


async def grant(me: Client, world: World, idea: IdeaSeen, reason: str, points: int) -> None:
    body = {"reason": reason, "subject_id": idea.id}
    if ok(await me.command(f"grant {reason}", "POST", "/v1/rewards", body)):
        idea.rewarded.add(reason)
        world.earned[idea.author] += points


async def helpful(me: Client, world: World, challenge: str) -> None:
    comments = [
        (contribution, author)
        for idea in world.ideas.values()
        if idea.challenge == challenge
        for contribution, author in idea.comments
        if contribution not in world.helpful
    ]
    if not comments:
        return
    contribution, author = random.choice(comments)
    world.helpful.add(contribution)
    path = f"/v1/contributions/{contribution}/helpful"
    if ok(await me.command("helpful", "POST", path)):
        body = {"reason": "helpful-contribution", "subject_id": contribution}
        if ok(await me.command("grant helpful-contribution", "POST", "/v1/rewards", body)):
            world.earned[author] += POLICY["helpful_contribution_points"]


async def implemented_reward(me: Client, world: World, _challenge: str) -> None:
    done = [
        i for i in world.ideas_of(me.handle, "implemented") if "idea-implemented" not in i.rewarded
    ]
    if done:
        idea = random.choice(done)
        await grant(me, world, idea, "idea-implemented", POLICY["implemented_idea_points"])


async def hand_over(me: Client, world: World, _challenge: str) -> None:
    """An owner asked to take an idea over: the manager hands it to them."""
    asked = world.ideas_of(me.handle, "asked")
    if asked:
        idea = random.choice(asked)
        idea.status = "handing over"
        body = {"core_process": "", "owner": idea.owner}  # the one the owner gave stands
        if ok(await me.command("hand over", "POST", f"/v1/ideas/{idea.id}/take-over", body)):
            idea.status = "handed over"


async def top_up(me: Client, world: World, challenge: str) -> None:
    if random.random() < 0.3:
        await me.command("top up", "POST", f"/v1/challenges/{challenge}/pot", {"points": 200})
    else:
        await me.read(f"/v1/pots/{challenge}?at_least={me.last_position}")


async def again(me: Client, world: World, _challenge: str) -> None:
    """A grant already made, under a new key: the domain must refuse it (once only)."""
    paid = [
        i
        for i in world.ideas.values()
        if "idea-accepted" in i.rewarded and world.challenges.get(i.challenge) == me.handle
    ]
    if paid:
        body = {"reason": "idea-accepted", "subject_id": random.choice(paid).id}
        await me.command("grant again (must be refused)", "POST", "/v1/rewards", body)


async def owner(me: Client, world: World, stop: asyncio.Event) -> None:
    """Asks to take accepted ideas over; once a manager handed one over, implements it."""
    while not stop.is_set():
        accepted = [i for i in world.ideas.values() if i.status == "accepted"]
        handed = [
            i for i in world.ideas.values() if i.status == "handed over" and i.owner == me.handle
        ]
        if handed:
            idea = random.choice(handed)
            idea.status = "implementing"
            base = f"/v1/ideas/{idea.id}"
            if ok(
                await me.command(
                    "progress", "POST", f"{base}/progress", {"note": "Pilot on line 3"}
                )
            ) and ok(
                await me.command(
                    "implemented", "POST", f"{base}/implemented", {"impact": "14 min shorter"}
                )
            ):
                idea.status = "implemented"
        elif accepted:
            idea = random.choice(accepted)
            idea.status = "asking"
            body = {"core_process": "Line changeover", "external_ref": f"CHG-{idea.id[:6]}"}
            path = f"/v1/ideas/{idea.id}/take-over"
            if ok(await me.command("ask to take over", "POST", path, body)):
                idea.status, idea.owner = "asked", me.handle
        await pause(0.1, 0.5)


async def contributor(me: Client, world: World, stop: asyncio.Event) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        roll = random.random()
        ideas = list(world.ideas.values())
        if world.challenges and (roll < 0.25 or not ideas):
            challenge = random.choice(list(world.challenges))
            body = {"title": f"Idea {n} of {me.handle}", "description": "Pre-stage the tools."}
            command = await me.command(
                "submit idea", "POST", f"/v1/challenges/{challenge}/ideas", body
            )
            if (idea := created(command)) is not None:
                world.ideas[idea] = IdeaSeen(idea, challenge, me.handle)
        elif ideas and roll < 0.6:
            idea = random.choice(ideas)
            body = {"body": f"Comment {n}: we tried this on line 2."}
            command = await me.command("comment", "POST", f"/v1/ideas/{idea.id}/comments", body)
            if (contribution := created(command)) is not None:
                idea.comments.append((contribution, me.handle))
        elif ideas and roll < 0.8:
            idea = random.choice(ideas)
            if ok(await me.command("endorse", "POST", f"/v1/ideas/{idea.id}/endorsements")):
                world.endorsed.add((me.handle, idea.id))
        elif world.earned[me.handle] - world.redeemed[me.handle] >= 10 and roll < 0.9:
            body = {"item_id": str(TEAM_LUNCH), "points": 10}
            if ok(await me.command("redeem", "POST", "/v1/me/redemptions", body)):
                world.redeemed[me.handle] += 10
        else:
            await me.read(f"/v1/me/ledger?at_least={me.last_position}")
        await pause()
