from django.contrib.auth import get_user_model
from rest_framework import serializers
from rest_framework_gis.fields import GeometryField

from core.serializers import LonLatSerializer

from .models import (
    Agency,
    Assignment,
    AssignmentStatus,
    ChecklistItem,
    ChecklistTemplate,
    CorrectiveAction,
    Inspection,
    InspectionPhoto,
    Priority,
)
from .models.records import AnswerValue


class AgencySerializer(serializers.ModelSerializer):
    area_code = serializers.CharField(source="area.code", default=None, read_only=True, allow_null=True)

    class Meta:
        model = Agency
        fields = ["id", "code", "name", "name_en", "kind", "area_code", "valid_from", "valid_to"]


class ChecklistItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChecklistItem
        fields = ["code", "question", "question_en", "severity", "photo_required_on_fail", "order"]


class ChecklistTemplateSerializer(serializers.ModelSerializer):
    items = ChecklistItemSerializer(many=True, read_only=True)

    class Meta:
        model = ChecklistTemplate
        fields = [
            "id",
            "site_kind",
            "version",
            "title",
            "title_en",
            "basis",
            "valid_from",
            "is_current",
            "items",
        ]


def _person(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.id, "name": user.get_full_name() or user.username}


class AssignmentSerializer(serializers.ModelSerializer):
    site_name = serializers.CharField(source="site.name", read_only=True)
    site_kind = serializers.CharField(source="site.kind", read_only=True)
    agency_code = serializers.CharField(source="agency.code", read_only=True)
    inspector = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Assignment
        fields = [
            "id",
            "site",
            "site_name",
            "site_kind",
            "agency_code",
            "inspector",
            "due_date",
            "priority",
            "status",
            "overdue",
            "round_name",
            "note",
            "created_at",
            "updated_at",
        ]

    def get_inspector(self, obj) -> dict | None:
        return _person(obj.inspector)

    def get_overdue(self, obj) -> bool:
        from places.selectors import today

        return obj.status in ("planned", "assigned", "in_progress") and obj.due_date < today()


class SiteFilterSerializer(serializers.Serializer):
    kind = serializers.CharField(required=False)
    commune = serializers.CharField(required=False)
    district = serializers.CharField(required=False)


class AssignmentCreateSerializer(serializers.Serializer):
    sites = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        allow_empty=False,
        help_text="Site ids of your agency",
    )
    filter = SiteFilterSerializer(
        required=False, help_text="Or every active site of your agency matching this"
    )
    inspector = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(), required=False, allow_null=True
    )
    due_date = serializers.DateField()
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    round_name = serializers.CharField(max_length=120, required=False, default="", allow_blank=True)
    note = serializers.CharField(required=False, default="", allow_blank=True)

    def validate(self, attrs):
        if ("sites" in attrs) == ("filter" in attrs):
            raise serializers.ValidationError(
                {"sites": ["give either sites (ids) or filter, not both or neither"]}
            )
        return attrs


class AssignmentUpdateSerializer(serializers.Serializer):
    inspector = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(), required=False, allow_null=True
    )
    due_date = serializers.DateField(required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    status = serializers.ChoiceField(choices=AssignmentStatus.choices, required=False)
    note = serializers.CharField(required=False, allow_blank=True)


class AnswerInSerializer(serializers.Serializer):
    item = serializers.CharField(max_length=20)
    value = serializers.ChoiceField(choices=AnswerValue.choices)
    note = serializers.CharField(max_length=1000, required=False, default="", allow_blank=True)


class InspectionSubmitSerializer(serializers.Serializer):
    client_uuid = serializers.UUIDField()
    site = serializers.IntegerField(min_value=1)
    assignment = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    template_version = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    performed_at = serializers.DateTimeField()
    position = LonLatSerializer(required=False, allow_null=True)
    gps_accuracy_m = serializers.FloatField(min_value=0, max_value=100_000, required=False, allow_null=True)
    answers = AnswerInSerializer(many=True, allow_empty=False)
    findings = serializers.CharField(max_length=5000, required=False, default="", allow_blank=True)


class PhotoSerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="item.code", default=None, read_only=True)
    url = serializers.FileField(source="file", read_only=True)

    class Meta:
        model = InspectionPhoto
        fields = ["id", "item", "url", "sha256", "width", "height", "exif_distance_m", "uploaded_at"]


class InspectionSerializer(serializers.ModelSerializer):
    site_name = serializers.CharField(source="site.name", read_only=True)
    agency_code = serializers.CharField(source="agency.code", read_only=True)
    inspector = serializers.SerializerMethodField()
    template_version = serializers.IntegerField(source="template.version", read_only=True)
    position = GeometryField(read_only=True)
    answers = serializers.SerializerMethodField()
    photos = PhotoSerializer(many=True, read_only=True)

    class Meta:
        model = Inspection
        fields = [
            "id",
            "client_uuid",
            "site",
            "site_name",
            "assignment",
            "agency_code",
            "inspector",
            "template_version",
            "performed_at",
            "received_at",
            "position",
            "gps_accuracy_m",
            "distance_to_site_m",
            "location_flagged",
            "flags",
            "result",
            "risk_level",
            "findings",
            "answers",
            "photos",
        ]

    def get_inspector(self, obj) -> dict | None:
        return _person(obj.inspector)

    def get_answers(self, obj) -> list[dict]:
        return [{"item": a.item.code, "value": a.value, "note": a.note} for a in obj.answers.all()]


class PhotoUploadSerializer(serializers.Serializer):
    photo = serializers.FileField()
    item = serializers.CharField(max_length=20, required=False, allow_blank=True)


class CorrectiveActionSerializer(serializers.ModelSerializer):
    site_name = serializers.CharField(source="site.name", read_only=True)
    agency_code = serializers.CharField(source="agency.code", read_only=True)
    opened_by = serializers.UUIDField(source="opened_by.client_uuid", read_only=True)
    verified_by = serializers.UUIDField(source="verified_by.client_uuid", default=None, read_only=True)
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = CorrectiveAction
        fields = [
            "id",
            "site",
            "site_name",
            "item_code",
            "description",
            "severity",
            "agency_code",
            "deadline",
            "status",
            "overdue",
            "opened_by",
            "reported_done_at",
            "report_note",
            "verified_by",
            "verified_at",
            "created_at",
        ]

    def get_overdue(self, obj) -> bool:
        from places.selectors import today

        return obj.status != "verified" and obj.deadline < today()


class ReportDoneSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)


class HistorySerializer(serializers.Serializer):
    at = serializers.DateTimeField(source="history_date")
    user = serializers.SerializerMethodField()
    change = serializers.CharField(source="history_type")
    changes = serializers.SerializerMethodField()

    def get_user(self, obj) -> dict | None:
        return _person(obj.history_user)

    def get_changes(self, obj) -> list[dict]:
        previous = obj.prev_record
        if previous is None:
            return []
        delta = obj.diff_against(previous)
        return [{"field": c.field, "old": str(c.old), "new": str(c.new)} for c in delta.changes]
