"""The road and path network that play-area access is measured along, when one is loaded.

PathEdge: the lines as imported (manage.py import_paths), keyed by (source, external_id,
part); a MultiLineString feature is stored as one row per part. PathSegment and
PathVertex: the routable topology built from every PathEdge (planning.paths.build_topology):
lines cut where they cross or touch and where an end lies within the snap tolerance of
another line, ends within the tolerance merged into one vertex. The topology is rebuilt
as a whole after each import; nothing else writes it.
"""

from django.contrib.gis.db import models
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _

UTM_SRID = 32648  # metric work in UTM 48N (as planning.access)


class PathKind(models.TextChoices):
    ROAD = "road", _("road")
    PATH = "path", _("path")
    FOOTBRIDGE = "footbridge", _("footbridge")


class PathEdge(models.Model):
    geom = models.LineStringField(srid=4326)
    kind = models.CharField(max_length=20, choices=PathKind.choices)
    source = models.CharField(max_length=100)
    external_id = models.CharField(max_length=200)
    part = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=200, blank=True, default="")
    # On the spheroid, metres (ST_Length on geography).
    length_m = models.GeneratedField(
        expression=RawSQL("ST_Length(geom::geography)", ()),
        output_field=models.FloatField(),
        db_persist=True,
    )
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id", "part"], name="planning_pathedge_key"),
            models.CheckConstraint(
                condition=models.Q(kind__in=[k.value for k in PathKind]), name="planning_pathedge_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}#{self.part}"


class PathVertex(models.Model):
    id = models.BigIntegerField(primary_key=True)
    geom = models.PointField(srid=4326)


class PathSegment(models.Model):
    """An edge of the routable graph: between two vertices, cost = length_m both ways."""

    id = models.BigIntegerField(primary_key=True)
    source = models.BigIntegerField(db_index=True)
    target = models.BigIntegerField(db_index=True)
    length_m = models.FloatField()
    geom = models.LineStringField(srid=4326)
    geom_utm = models.LineStringField(srid=UTM_SRID)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(length_m__gte=0), name="planning_segment_length")
        ]
