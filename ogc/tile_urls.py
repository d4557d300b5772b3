"""Vector tiles and TileJSON, mounted at /tiles/."""

from django.urls import path

from . import tiles

app_name = "tiles"

urlpatterns = [
    path("<str:layer>.json", tiles.tilejson, name="tilejson"),
    path("<str:layer>/tilejson.json", tiles.tilejson, name="tilejson-alt"),
    path("<str:layer>/<int:z>/<int:x>/<int:y>.pbf", tiles.tile, name="tile"),
]
