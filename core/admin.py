from django.contrib import admin
from django.utils.translation import gettext_lazy as _

admin.site.site_header = _("ChildSafe Map administration")
admin.site.site_title = _("ChildSafe Map")
