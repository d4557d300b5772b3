from .api import AdminUnitViewSet, SiteViewSet

# (prefix, viewset, basename) registered on the one API router in childsafe/api_urls.py
routes = [
    ("admin-units", AdminUnitViewSet, "admin-unit"),
    ("sites", SiteViewSet, "site"),
]
