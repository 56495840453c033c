from django.core.paginator import Paginator
from django.db.models import Count, QuerySet, Window
from rest_framework.pagination import PageNumberPagination


class CountInPageQueryPaginator(Paginator):
    """A Django paginator that reads the total with the page, ``COUNT(*) OVER ()``: one query, not two.

    Only for small, bounded result sets (a stored match run): the window makes PostgreSQL produce
    every matching row before the LIMIT, where a separate ``count()`` would not. Anything the fast
    path does not cover (a page past the end, no results, ``?page=last``, junk) goes through
    Django's own ``count()`` and validation, so the answers and errors are the same.
    """

    def page(self, number):
        if "count" in self.__dict__ or self.orphans or not isinstance(self.object_list, QuerySet):
            return super().page(number)
        try:
            number = int(number)
        except (TypeError, ValueError):
            return super().page(number)
        if number < 1:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list.annotate(page_total_count=Window(Count("*")))[bottom : bottom + self.per_page])
        if not rows:
            return super().page(number)
        self.__dict__["count"] = rows[0].page_total_count  # Paginator.count is a cached_property
        return self._get_page(rows, number, self)


class StandardPagination(PageNumberPagination):
    """``?page=N&page_size=M``; page_size is capped so no request can ask for the whole table."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
            elif parameter["name"] == self.page_size_query_param:
                # larger values are capped, not refused; 0 or junk means the default size
                parameter["description"] = (
                    f"Results per page (default {self.page_size}); larger values are capped at {self.max_page_size}."
                )
        return parameters
