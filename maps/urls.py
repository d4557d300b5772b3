from .api import IndicatorViewSet

# (prefix, viewset, basename) registered on the one API router in childsafe/api_urls.py
routes: list = [("indicators", IndicatorViewSet, "indicator")]
