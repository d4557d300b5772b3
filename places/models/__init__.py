from .sites import Site, SiteKind, SiteStatus
from .units import AdminLevel, AdminUnit, CrosswalkLink, StatIndicator, UnitStatistic

__all__ = [
    "AdminLevel",
    "AdminUnit",
    "CrosswalkLink",
    "Site",
    "SiteKind",
    "SiteStatus",
    "StatIndicator",
    "UnitStatistic",
]
