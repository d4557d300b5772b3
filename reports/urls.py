from .api import ReportViewSet

# (prefix, viewset, basename) registered on the one API router in childsafe/api_urls.py
routes = [("reports", ReportViewSet, "report")]
