from django import forms
from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin
from django.utils.translation import gettext as _

from .models import AdminUnit, CrosswalkLink, Site, UnitStatistic
from .selectors import unit_ids_at
from .services import site_create, site_update
from .validation import SiteInvalid, clean_attributes, clean_geometry, clean_kind


@admin.register(AdminUnit)
class AdminUnitAdmin(GISModelAdmin):
    list_display = ["code", "name", "level", "parent", "valid_from", "valid_to"]
    list_filter = ["level", "valid_to"]
    search_fields = ["code", "name", "name_en"]
    raw_id_fields = ["parent"]


@admin.register(CrosswalkLink)
class CrosswalkLinkAdmin(admin.ModelAdmin):
    list_display = ["old_unit", "new_unit", "effective", "legal_basis"]
    raw_id_fields = ["old_unit", "new_unit"]


@admin.register(UnitStatistic)
class UnitStatisticAdmin(admin.ModelAdmin):
    list_display = ["unit", "year", "indicator", "value", "source"]
    list_filter = ["year", "indicator", "source"]
    search_fields = ["unit__code", "unit__name"]
    raw_id_fields = ["unit"]


class SiteAdminForm(forms.ModelForm):
    make_valid = forms.BooleanField(required=False, help_text="Repair invalid geometry with ST_MakeValid")

    class Meta:
        model = Site
        fields = ["kind", "name", "description", "geom", "attributes", "status", "source", "external_id"]

    def clean(self):
        data = super().clean()
        try:
            kind = clean_kind(data.get("kind"))
            if data.get("geom") is not None:
                data["geom"] = clean_geometry(kind, data["geom"], make_valid=data.get("make_valid", False))
                if unit_ids_at(geoms=[data["geom"]])[0] is None:
                    self.add_error("geom", _("outside the province"))
            data["attributes"] = clean_attributes(kind, data.get("attributes"))
        except SiteInvalid as exc:
            for field, messages in exc.errors.items():
                target = "geom" if field == "geometry" else field if field in self.fields else "attributes"
                for message in messages:
                    self.add_error(target, f"{field}: {message}" if target == "attributes" else message)
        return data


@admin.register(Site)
class SiteAdmin(GISModelAdmin):
    form = SiteAdminForm
    list_display = ["name", "kind", "commune", "status", "source", "updated_at"]
    list_filter = ["kind", "status", "source"]
    search_fields = ["name", "external_id"]
    readonly_fields = ["commune", "length_m", "created_by", "updated_by", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        fields = {k: form.cleaned_data[k] for k in SiteAdminForm.Meta.fields if k in form.cleaned_data}
        # The form has already run the services' checks, so this does not fail.
        if change:
            saved = site_update(site=Site.objects.get(pk=obj.pk), user=request.user, **fields)
        else:
            saved = site_create(user=request.user, **fields)
        obj.pk = saved.pk
        obj.commune_id = saved.commune_id
