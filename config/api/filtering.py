"""Query-string filtering: django-filter's backend, without its cost on requests that filter nothing."""

from django_filters.rest_framework import DjangoFilterBackend


class QueryStringFilterBackend(DjangoFilterBackend):
    """``DjangoFilterBackend`` that skips building the FilterSet when the query string holds nothing
    but pagination parameters (or nothing at all).

    Building a FilterSet deep-copies every declared filter, about 1.5 ms of CPU per request on the
    benchmark machine (docs/benchmarks.md §3), and with no filter parameter it returns the queryset
    unchanged. Any other parameter, known or not, goes through django-filter as before, so bad
    values are still a 400 naming the parameter.
    """

    def filter_queryset(self, request, queryset, view):
        paginator = getattr(view, "paginator", None)
        paging = {getattr(paginator, "page_query_param", None), getattr(paginator, "page_size_query_param", None)}
        if all(name in paging for name in request.query_params):
            return queryset
        return super().filter_queryset(request, queryset, view)
