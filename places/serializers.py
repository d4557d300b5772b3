from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from .kinds import KIND_CHOICES
from .models import AdminUnit, Site, SiteStatus


class AdminUnitSerializer(GeoFeatureModelSerializer):
    parent_code = serializers.CharField(source="parent.code", default=None, read_only=True, allow_null=True)

    class Meta:
        model = AdminUnit
        geo_field = "geom"
        fields = [
            "id",
            "code",
            "name",
            "name_en",
            "level",
            "parent_code",
            "valid_from",
            "valid_to",
            "geometry_source",
        ]


class SiteSerializer(GeoFeatureModelSerializer):
    """One site as a GeoJSON Feature, for reads of single sites and for writes.

    Validation beyond types is the service's (places.services): the kind decides the
    geometry types and attributes.
    """

    kind = serializers.ChoiceField(choices=KIND_CHOICES)
    status = serializers.ChoiceField(choices=SiteStatus.choices, default=SiteStatus.ACTIVE)
    commune_code = serializers.CharField(source="commune.code", read_only=True)
    commune_name = serializers.CharField(source="commune.name", read_only=True)
    attributes = serializers.DictField(required=False, default=dict, help_text=_("Kind-specific attributes"))
    make_valid = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text=_("Repair invalid geometry with ST_MakeValid"),
    )

    def to_internal_value(self, data):
        # drf-gis flattens "properties" in place and assumes a Feature-shaped object: refuse
        # other shapes with a message (a string "properties" used to raise a TypeError, a 500).
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": [_("Expected a GeoJSON Feature object.")]})
        if "properties" in data:
            if not isinstance(data["properties"], dict):
                raise serializers.ValidationError({"properties": [_("must be a JSON object")]})
            data = {**data, "properties": dict(data["properties"])}
        return super().to_internal_value(data)

    class Meta:
        model = Site
        geo_field = "geom"
        fields = [
            "id",
            "kind",
            "name",
            "description",
            "status",
            "commune_code",
            "commune_name",
            "length_m",
            "source",
            "external_id",
            "attributes",
            "created_at",
            "updated_at",
            "make_valid",
        ]
        read_only_fields = ["length_m", "created_at", "updated_at"]
