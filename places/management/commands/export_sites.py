from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from places.exporter import EXPORT_FORMATS, ExportError, export_sites
from places.kinds import KINDS
from places.models import AdminLevel, AdminUnit, Site
from places.selectors import site_list


class Command(BaseCommand):
    help = "Export sites as GeoJSON, GeoPackage or CSV (files that import_sites reads back unchanged)."

    def add_arguments(self, parser):
        parser.add_argument("out", type=Path)
        parser.add_argument(
            "--format", choices=EXPORT_FORMATS, help="file format (default: from the extension of OUT)"
        )
        parser.add_argument("--kind", choices=list(KINDS), help="only sites of this kind")
        parser.add_argument("--commune", metavar="CODE", help="only sites in the commune with this GSO code")
        parser.add_argument(
            "--user", metavar="USERNAME", help="export what this user may see (default: every site)"
        )

    def handle(
        self,
        *args,
        out: Path,
        format: str | None,
        kind: str | None,
        commune: str | None,
        user: str | None,
        **options,
    ):
        fmt = format or out.suffix.lower().lstrip(".")
        if fmt not in EXPORT_FORMATS:
            raise CommandError(
                _("choose --format %(choices)s (cannot tell from '%(name)s')")
                % {"choices": "|".join(EXPORT_FORMATS), "name": out.name}
            )
        if user:
            try:
                reader = get_user_model().objects.get(**{get_user_model().USERNAME_FIELD: user})
            except get_user_model().DoesNotExist:
                raise CommandError(_("no user '%(user)s'") % {"user": user}) from None
            sites = site_list(user=reader)
        else:
            # The operator of the server sees every site, as the admin does.
            sites = Site.objects.all()
        if kind:
            sites = sites.filter(kind=kind)
        if commune:
            if not AdminUnit.objects.filter(code=commune, level=AdminLevel.COMMUNE).exists():
                raise CommandError(_("no commune with code '%(code)s'") % {"code": commune})
            sites = sites.filter(commune__code=commune)
        try:
            content, _content_type, _name = export_sites(sites, fmt)
        except ExportError as exc:
            raise CommandError(str(exc)) from exc
        out.write_bytes(content)
        self.stdout.write(_("%(count)d sites written to %(path)s") % {"count": sites.count(), "path": out})
