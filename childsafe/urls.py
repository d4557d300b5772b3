from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.auth import LoginView
from core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("childsafe.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("inspections/", include("inspections.page_urls")),
    path("incidents/", include("incidents.page_urls")),
    path("maps/", include("maps.page_urls")),
    path("planning/", include("planning.page_urls")),
    path("reports/", include("reports.page_urls")),
    path("ogcapi/", include("ogc.urls")),
    path("tiles/", include("ogc.tile_urls")),
    path("", include("core.urls")),
]
