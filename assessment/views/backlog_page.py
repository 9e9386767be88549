"""The backlog page as the template shows it: items grouped by PDCA status, one line each, ranked,
with the reasons in words; at most one item open for editing (house style, point 7)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import url_for

from ..domain.backlog import propose_backlog, status_in_words
from ..models import PDCA_STATUSES, Assessment, BacklogEvent, BacklogItem, User
from ..services import backlog as backlog_svc
from ..services.assessments import AssessmentState

STATUS_TITLES = {
    "plan": "Plan",
    "do": "Do",
    "check": "Check",
    "act": "Act",
    "done": "Done",
    "dropped": "Dropped",
}
STATUS_HINTS = {
    "plan": "to decide what to try",
    "do": "being tried",
    "check": "being measured",
    "act": "to adopt or adjust",
    "done": "closed",
    "dropped": "not pursued",
}
RANKED = backlog_svc.OPEN  # done and dropped items have no rank


@dataclass(frozen=True)
class EditForm:
    """The one item open for editing: its values (as submitted, after an error) and the messages."""

    values: dict[str, str]
    owners: list[tuple[str, str, bool]]  # (value, label, selected)
    errors: dict[str, str]
    cancel_url: str


@dataclass(frozen=True)
class ItemLine:
    """One item's line of the list."""

    item: BacklogItem
    rank: int | None
    why: str
    owner_name: str | None
    requirement_url: str | None
    edit_url: str
    unanswered: bool
    reopened_on: str | None
    events: list[BacklogEvent]  # shown once there is more than its creation to tell
    form: EditForm | None = None


@dataclass(frozen=True)
class Group:
    """One PDCA status and its items."""

    status: str
    title: str
    hint: str
    lines: list[ItemLine] = field(default_factory=list)


@dataclass(frozen=True)
class BacklogPage:
    """Everything the backlog page shows."""

    groups: list[Group]
    shown: int
    total: int
    hidden_unanswered: int
    show_unanswered: bool
    toggle_unanswered_url: str
    args: dict[str, str]  # the filters in use (none empty), for the links and the form's action


def ranks(items: list[BacklogItem]) -> dict[int, int]:
    """Each open item's rank in the whole backlog: 1 is the most urgent (highest priority, then oldest)."""
    ranked = sorted((i for i in items if i.status in RANKED), key=lambda i: (-i.priority, i.id))
    return {item.id: number for number, item in enumerate(ranked, start=1)}


def owner_options(members: list[User], current: str | None) -> list[tuple[str, str, bool]]:
    """The owner select: nobody, the scope's team, and a former free-text owner kept as it was."""
    options = [("", "Nobody yet", not current)]
    options += [(u.username, f"{u.display_name} ({u.username})", u.username == current) for u in members]
    if current and current not in {u.username for u in members}:
        options.append((current, f"{current} (not in the team)", True))
    return options


def build_page(
    assessment: Assessment,
    state: AssessmentState,
    everything: list[BacklogItem],
    args: dict[str, str],
    history: dict[int, list[BacklogEvent]],
    *,
    editing: int | None = None,
    submitted: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> BacklogPage:
    """The page for the filters in `args` (status, owner, q, sort, unanswered) with item `editing` open."""
    framework = state.framework
    domain_index = {domain.id: number for number, domain in enumerate(framework.domains)}
    proposals = {p.requirement_id: p for p in propose_backlog(state.card)}
    members = backlog_svc.owner_choices(assessment.scope_id)
    names = {u.username: u.display_name for u in members}
    rank_of = ranks(everything)
    show_unanswered = args.get("unanswered") == "show"

    def unanswered(item: BacklogItem) -> bool:
        result = state.find(item.requirement_id)
        return result is not None and result.status == "unanswered"

    matching = backlog_svc.filtered(everything, args["status"], args["owner"], args["q"], args["sort"] or "priority")
    visible = [i for i in matching if show_unanswered or not unanswered(i)]
    hidden = len(matching) - len(visible)
    edited = next((i for i in everything if i.id == editing), None)
    if edited is not None and edited not in visible:  # the item being edited stays in view, whatever the filters
        visible.append(edited)
        hidden -= edited in matching
    keep = {k: v for k, v in args.items() if v}
    groups = {status: Group(status, STATUS_TITLES[status], STATUS_HINTS[status]) for status in PDCA_STATUSES}
    for item in visible:
        requirement = framework.requirement_index.get(item.requirement_id)
        result = state.find(item.requirement_id)
        proposal = proposals.get(item.requirement_id)
        if proposal is not None:
            why = proposal.in_words()
        elif result is not None:
            why = f"no longer a gap: {status_in_words(result.status, result.credit, result.unsupported)}"
        else:
            why = item.priority_reasons or "not in this framework version"
        events = history.get(item.id, [])
        reopened = events[-1].at.strftime("%Y-%m-%d") if events and events[-1].kind == "reopened" else None
        form = None
        if editing == item.id:
            values = submitted or {
                "owner": item.owner or "",
                "due_date": item.due_date.isoformat() if item.due_date else "",
                "status": item.status,
                "hypothesis": item.hypothesis or "",
                "outcome": item.outcome or "",
            }
            form = EditForm(
                values=values,
                owners=owner_options(members, values.get("owner") or None),
                errors=errors or {},
                cancel_url=url_for("backlog.index", assessment_id=assessment.id, **keep) + f"#item-{item.id}",
            )
        groups[item.status].lines.append(
            ItemLine(
                item=item,
                rank=rank_of.get(item.id),
                why=why,
                owner_name=names.get(item.owner or "", item.owner),
                requirement_url=(
                    url_for(
                        "assessments.domain", assessment_id=assessment.id, index=domain_index[requirement.domain_id]
                    )
                    + f"#req-{item.requirement_id}"
                    if requirement is not None and requirement.domain_id in domain_index
                    else None
                ),
                edit_url=url_for("backlog.index", assessment_id=assessment.id, **{**keep, "edit": item.id})
                + f"#item-{item.id}",
                unanswered=unanswered(item),
                reopened_on=reopened if item.status != "done" else None,
                events=events if len(events) > 1 else [],
                form=form,
            )
        )
    toggled = {k: v for k, v in keep.items() if k not in ("unanswered", "edit")}
    if not show_unanswered:
        toggled["unanswered"] = "show"
    return BacklogPage(
        groups=[g for g in groups.values() if g.lines],
        shown=len(visible),
        total=len(everything),
        hidden_unanswered=hidden,
        show_unanswered=show_unanswered,
        toggle_unanswered_url=url_for("backlog.index", assessment_id=assessment.id, **toggled),
        args=keep,
    )
