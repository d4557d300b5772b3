"""Pages of inspections under /inspections/ (the REST API is in inspections/urls.py)."""

from django.urls import path

from . import offline, views

app_name = "inspections"

urlpatterns = [
    path("", views.index, name="index"),
    path("sites/<int:site_id>/inspect/", views.inspect, name="inspect"),
    path("mine/", views.mine, name="mine"),
    path("assign/", views.assign, name="assign"),
    path("overdue/", views.overdue, name="overdue"),
    path("actions/", views.actions, name="actions"),
    path("actions/<int:action_id>/report-done/", views.action_report_done, name="action-report-done"),
    # The installable inspector app: works offline (inspections/offline.py).
    path("offline/", offline.offline_page, name="offline"),
    path("offline/bundle.json", offline.bundle, name="offline-bundle"),
    path("manifest.webmanifest", offline.manifest, name="manifest"),
    path("sw.js", offline.service_worker, name="service-worker"),
    path("<uuid:client_uuid>/", views.detail, name="detail"),
    path("<uuid:client_uuid>/photos/", views.photo_add, name="photo-add"),
    path("<uuid:client_uuid>/photos/<int:photo_id>/", views.photo, name="photo"),
]
