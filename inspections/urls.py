from .api import (
    AgencyViewSet,
    AssignmentViewSet,
    ChecklistViewSet,
    CorrectiveActionViewSet,
    InspectionViewSet,
)

# (prefix, viewset, basename) registered on the one API router in childsafe/api_urls.py
routes = [
    ("agencies", AgencyViewSet, "agency"),
    ("checklists", ChecklistViewSet, "checklist"),
    ("assignments", AssignmentViewSet, "assignment"),
    ("inspections", InspectionViewSet, "inspection"),
    ("corrective-actions", CorrectiveActionViewSet, "corrective-action"),
]
