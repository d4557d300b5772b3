from .actions import ActionStatus, CorrectiveAction
from .agencies import Agency, AgencyKind, Profile, Role, RoutingRule
from .assignments import Assignment, AssignmentStatus, Priority
from .checklists import ChecklistItem, ChecklistTemplate, Severity
from .records import Answer, Inspection, InspectionPhoto, Result

__all__ = [
    "ActionStatus",
    "Agency",
    "AgencyKind",
    "Answer",
    "Assignment",
    "AssignmentStatus",
    "ChecklistItem",
    "ChecklistTemplate",
    "CorrectiveAction",
    "Inspection",
    "InspectionPhoto",
    "Priority",
    "Profile",
    "Result",
    "Role",
    "RoutingRule",
    "Severity",
]
