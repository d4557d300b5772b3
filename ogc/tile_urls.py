"""Vector tiles and TileJSON, mounted at /tiles/."""

app_name = "tiles"

urlpatterns: list = []
