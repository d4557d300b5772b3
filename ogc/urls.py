"""OGC API – Features, mounted at /ogcapi/."""

app_name = "ogc"

urlpatterns: list = []
