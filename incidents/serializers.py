from rest_framework import serializers

from core.serializers import LonLatSerializer

from .models import AgeBand, Incident, IncidentKind, Outcome, Sex


class IncidentSerializer(serializers.ModelSerializer):
    """A single record: only ever shown to those allowed to see it (incidents.privacy)."""

    commune_code = serializers.CharField(source="commune.code", read_only=True)
    commune_name = serializers.CharField(source="commune.name", read_only=True)
    current_commune_code = serializers.CharField(source="current_commune.code", read_only=True)
    location = serializers.SerializerMethodField()
    linked_site_name = serializers.CharField(source="linked_site.name", default=None, read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id",
            "kind",
            "date",
            "time",
            "location",
            "commune_code",
            "commune_name",
            "current_commune_code",
            "age_band",
            "sex",
            "outcome",
            "circumstances",
            "source",
            "reference",
            "linked_site",
            "linked_site_name",
            "linked_site_manual",
            "synthetic",
            "created_at",
            "updated_at",
        ]

    def get_location(self, obj) -> dict | None:
        return {"lon": obj.location.x, "lat": obj.location.y} if obj.location else None


class IncidentWriteSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=IncidentKind.choices)
    date = serializers.DateField()
    time = serializers.TimeField(required=False, allow_null=True)
    location = LonLatSerializer(required=False, allow_null=True)
    commune = serializers.CharField(
        max_length=10,
        required=False,
        allow_blank=True,
        help_text="GSO code of the commune in force on the date (when no location)",
    )
    age_band = serializers.ChoiceField(choices=AgeBand.choices)
    sex = serializers.ChoiceField(choices=Sex.choices)
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    circumstances = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)
    source = serializers.CharField(max_length=150)
    reference = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    linked_site = serializers.IntegerField(min_value=1, required=False, allow_null=True)


class LinkSiteSerializer(serializers.Serializer):
    linked_site = serializers.IntegerField(min_value=1, allow_null=True)


class HotspotConfirmSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    water_type = serializers.CharField(max_length=30, required=False, default="", allow_blank=True)
    shape = serializers.ChoiceField(choices=["point", "area"], default="point")
    force = serializers.BooleanField(default=False)
    eps_m = serializers.FloatField(min_value=1, max_value=50_000, required=False)
    min_incidents = serializers.IntegerField(min_value=2, max_value=1000, required=False)
    years = serializers.FloatField(min_value=0.1, max_value=50, required=False)
    kind = serializers.CharField(max_length=200, required=False, allow_blank=True)
