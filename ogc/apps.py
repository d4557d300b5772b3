from django.apps import AppConfig


class OgcConfig(AppConfig):
    name = "ogc"
    verbose_name = "OGC API – Features and vector tiles"
    default_auto_field = "django.db.models.BigAutoField"
