"""Demo inspection work on the demo sites: users of every role, assignment rounds,
inspections (some far from their site, some failing) and corrective actions in every
state, made through the real services so every flag and deadline is computed as in
production. Deterministic (seeded) and idempotent: a second run adds nothing.

Demo users get the password of DEMO_PASSWORD (default "childsafe-demo" in
development); without DJANGO_DEBUG=1 nothing is created unless DEMO_PASSWORD is set.
"""

import math
import os
import random
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone

from places.models import AdminUnit, Site
from places.selectors import today

from .models import (
    ActionStatus,
    Agency,
    Assignment,
    AssignmentStatus,
    ChecklistTemplate,
    CorrectiveAction,
    Profile,
    Role,
)
from .services import (
    AnswerIn,
    assignment_create,
    assignment_update,
    corrective_action_report_done,
    inspection_submit,
)

DEMO_ROUND = "Demo: kiểm tra trước mùa hè và mùa mưa lũ 2026"
NAMESPACE = uuid.UUID("6f1d2c3e-23c7-4f0b-9a57-2020a23c7000")  # fixed, so demo UUIDs never change
SEED = 23
CITY_COMMUNE = "03388"  # Phường Đoàn Kết, where most demo construction and playgrounds are
HOTSPOT_COMMUNE_CANDIDATES = ["03394", "03487", "03562"]


@dataclass
class InspectionDemoSummary:
    users: list[str] = field(default_factory=list)
    assignments: int = 0
    inspections: int = 0
    actions: dict[str, int] = field(default_factory=dict)
    skipped: str = ""


def demo_password() -> str | None:
    if os.environ.get("DEMO_PASSWORD"):
        return os.environ["DEMO_PASSWORD"]
    return "childsafe-demo" if settings.DEBUG else None


def _user(
    username: str,
    *,
    role: str,
    agency: Agency | None = None,
    area: AdminUnit | None = None,
    password: str,
    full_name: str,
    staff: bool = False,
):
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username, defaults={"first_name": full_name})
    if created:
        user.set_password(password)
        user.is_staff = staff
        user.is_superuser = staff
        user.save()
    Profile.objects.update_or_create(user=user, defaults={"role": role, "agency": agency, "area": area})
    return user


def _answers(template: ChecklistTemplate, rng: random.Random, fail_share: float) -> list[AnswerIn]:
    out = []
    for item in template.items.all():
        draw = rng.random()
        value = "fail" if draw < fail_share else ("na" if draw > 0.95 else "pass")
        out.append(
            AnswerIn(item=item.code, value=value, note="" if value != "fail" else "Phát hiện khi kiểm tra")
        )
    return out


def _position(site: Site, rng: random.Random, far: bool) -> Point:
    base = site.geom.point_on_surface
    # ~1e-5 degrees is about a metre here; far ones are 0.5–2 km off.
    spread = rng.uniform(0.005, 0.018) if far else rng.uniform(0.00002, 0.0006)
    angle = rng.uniform(0, 6.283)
    return Point(base.x + spread * math.cos(angle), base.y + spread * math.sin(angle), srid=4326)


def _submit(
    user, site, template, rng, n: int, *, when, assignment=None, fail_share=0.15, far=False, answers=None
):
    return inspection_submit(
        user=user,
        client_uuid=uuid.uuid5(NAMESPACE, f"inspection-{n}"),
        site_id=site.pk,
        assignment_id=assignment.pk if assignment else None,
        performed_at=when,
        position=_position(site, rng, far),
        gps_accuracy_m=round(rng.uniform(4, 30), 1),
        answers=answers or _answers(template, rng, fail_share),
        findings="Dữ liệu minh họa (synthetic demo)",
    ).inspection


@transaction.atomic
def inspection_demo_generate() -> InspectionDemoSummary:
    summary = InspectionDemoSummary()
    password = demo_password()
    if password is None:
        summary.skipped = "DEMO_PASSWORD is not set outside development: no demo users or inspections"
        return summary
    if Assignment.objects.filter(round_name=DEMO_ROUND).exists():
        summary.skipped = "already present"
        return summary
    xd = Agency.objects.get(code="so-xay-dung")
    city = AdminUnit.objects.valid_on(today()).get(level="commune", code=CITY_COMMUNE)
    hotspot_commune = (
        AdminUnit.objects.valid_on(today())
        .filter(
            level="commune",
            code__in=HOTSPOT_COMMUNE_CANDIDATES,
            sites__kind="drowning_hotspot",
            sites__source="synthetic demo",
        )
        .order_by("code")
        .first()
    )
    committee = Agency.objects.get(area=hotspot_commune) if hotspot_commune else None
    users = {
        "manager": _user(
            "demo-xd-manager",
            role=Role.AGENCY_MANAGER,
            agency=xd,
            password=password,
            full_name="Trưởng phòng Sở Xây dựng (demo)",
        ),
        "inspector": _user(
            "demo-xd-inspector",
            role=Role.INSPECTOR,
            agency=xd,
            password=password,
            full_name="Cán bộ kiểm tra Sở Xây dựng (demo)",
        ),
        "inspector2": _user(
            "demo-xd-inspector2",
            role=Role.INSPECTOR,
            agency=xd,
            password=password,
            full_name="Cán bộ kiểm tra 2 Sở Xây dựng (demo)",
        ),
        "city_leader": _user(
            "demo-doanket-leader",
            role=Role.AREA_LEADER,
            area=city,
            password=password,
            full_name="Chủ tịch UBND phường Đoàn Kết (demo)",
        ),
        "planner": _user(
            "demo-planner", role=Role.PLANNER, password=password, full_name="Cán bộ quy hoạch (demo)"
        ),
        "coordinator": _user(
            "demo-coordinator",
            role=Role.COORDINATOR,
            agency=Agency.objects.get(code="so-lao-dong-tbxh"),
            password=password,
            full_name="Điều phối viên Sở LĐ-TB&XH (demo)",
        ),
        "admin": _user(
            "demo-admin", role=Role.ADMINISTRATOR, password=password, full_name="Quản trị (demo)", staff=True
        ),
    }
    if committee:
        users["commune_inspector"] = _user(
            "demo-commune-inspector",
            role=Role.INSPECTOR,
            agency=committee,
            password=password,
            full_name=f"Cán bộ {committee.name} (demo)",
        )
        users["commune_manager"] = _user(
            "demo-commune-manager",
            role=Role.AGENCY_MANAGER,
            agency=committee,
            password=password,
            full_name=f"Lãnh đạo {committee.name} (demo)",
        )
        users["commune_leader"] = _user(
            "demo-commune-leader",
            role=Role.AREA_LEADER,
            area=hotspot_commune,
            password=password,
            full_name=f"Chủ tịch {committee.name} (demo)",
        )
    summary.users = sorted(u.username for u in users.values())

    rng = random.Random(SEED)
    now = timezone.now()
    templates = {
        t.site_kind: t for t in ChecklistTemplate.objects.filter(is_current=True).prefetch_related("items")
    }
    n = 0
    rounds = [
        (
            users["manager"],
            [users["inspector"], users["inspector2"]],
            Site.objects.filter(
                agency=xd,
                source="synthetic demo",
                kind__in=["construction_site", "playground"],
                status="active",
            ).order_by("id")[:48],
        )
    ]
    if committee:
        rounds.append(
            (
                users["commune_manager"],
                [users["commune_inspector"]],
                Site.objects.filter(agency=committee, kind="drowning_hotspot", status="active").order_by(
                    "id"
                )[:20],
            )
        )
    for manager, inspectors, sites in rounds:
        sites = list(sites)
        created = assignment_create(
            manager=manager,
            sites=[s.pk for s in sites],
            due_date=today() + timedelta(days=1),
            round_name=DEMO_ROUND,
        ).created
        summary.assignments += len(created)
        for i, (site, assignment) in enumerate(zip(sites, created, strict=True)):
            inspector = inspectors[i % len(inspectors)]
            # Re-plan: due dates spread from 60 days ago (overdue) to 45 days ahead.
            assignment_update(
                user=manager,
                assignment=assignment,
                inspector=inspector,
                due_date=today() + timedelta(days=rng.randint(-60, 45)),
                priority=rng.choice(["normal", "normal", "high", "urgent"]),
            )
            template = templates.get(site.kind)
            if template is None or rng.random() < 0.35:
                continue  # still to do (some overdue)
            when = now - timedelta(days=rng.randint(15, 220), hours=rng.randint(0, 8))
            n += 1
            inspection = _submit(
                inspector,
                site,
                template,
                rng,
                n,
                when=when,
                assignment=assignment,
                far=rng.random() < 0.12,
                fail_share=0.18,
            )
            summary.inspections += 1
            actions = list(CorrectiveAction.objects.filter(opened_by=inspection).order_by("id"))
            fates = {a.item_code: rng.random() for a in actions}
            for action in actions:
                if fates[action.item_code] < 0.3:
                    corrective_action_report_done(user=manager, action=action, note="Đã khắc phục (demo)")
            fixed = {code for code, fate in fates.items() if 0.3 <= fate < 0.6}
            if fixed:
                # A follow-up visit finds these items fixed (verified); the other failures stay open.
                n += 1
                follow = [
                    AnswerIn(item=a.item.code, value="pass" if a.item.code in fixed else a.value)
                    for a in inspection.answers.select_related("item")
                ]
                _submit(
                    inspector,
                    site,
                    template,
                    rng,
                    n,
                    answers=follow,
                    when=min(now - timedelta(hours=1), when + timedelta(days=rng.randint(5, 40))),
                )
                summary.inspections += 1
    for status in ActionStatus.values:
        summary.actions[status] = CorrectiveAction.objects.filter(status=status).count()
    summary.actions["overdue"] = (
        CorrectiveAction.objects.exclude(status=ActionStatus.VERIFIED).filter(deadline__lt=today()).count()
    )
    summary.actions["assignments_overdue"] = Assignment.objects.filter(
        status__in=[AssignmentStatus.ASSIGNED, AssignmentStatus.PLANNED], due_date__lt=today()
    ).count()
    return summary
