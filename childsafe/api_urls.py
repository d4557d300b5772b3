"""The /api/v1/ router: each app lists its (prefix, viewset, basename) routes."""

from importlib import import_module

from rest_framework.routers import DefaultRouter

API_APPS = ["places", "inspections", "incidents", "planning", "maps", "reports"]

router = DefaultRouter()
for app in API_APPS:
    for prefix, viewset, basename in import_module(f"{app}.urls").routes:
        router.register(prefix, viewset, basename=basename)

urlpatterns = router.urls
