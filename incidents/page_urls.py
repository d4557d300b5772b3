from django.urls import path

from . import views

app_name = "incidents"

urlpatterns = [
    path("", views.index, name="index"),
    path("records/", views.records, name="records"),
    path("new/", views.new, name="new"),
    path("import/", views.import_file, name="import"),
    path("hotspots/", views.hotspots, name="hotspots"),
]
