"""The data version of the layers served by the OGC API and the tiles.

Statement-level triggers on places_site and places_adminunit (migration 0001) append a row
here for every statement that writes them, so the newest row is a version of the data that
changes exactly when sites or units do. Tiles for anonymous readers are cached under it and
their ETag is derived from it (a 304 needs no rendering).
"""

from django.db import models


class DataChange(models.Model):
    table_name = models.CharField(max_length=63)
    at = models.DateTimeField()

    class Meta:
        verbose_name = "data change"
        verbose_name_plural = "data changes"

    def __str__(self):
        return f"{self.table_name} @ {self.at:%Y-%m-%d %H:%M:%S}"
