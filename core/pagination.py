"""Page-number pagination whose bad `page` / `page_size` values are a 400 naming the parameter."""

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

from .params import int_param


class StrictPageNumberPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request):
        return int_param(request, "page_size", self.page_size, minimum=1, maximum=self.max_page_size)

    def paginate_queryset(self, queryset, request, view=None):
        page = int_param(request, "page", 1, minimum=1)
        page_size = self.get_page_size(request)
        paginator = self.django_paginator_class(queryset, page_size)
        if page > max(paginator.num_pages, 1):
            raise ValidationError(
                {
                    "page": [
                        _("page %(page)s is past the last page (%(pages)s)")
                        % {"page": page, "pages": paginator.num_pages}
                    ]
                }
            )
        self.request = request
        self.page = paginator.page(page)
        return list(self.page)
