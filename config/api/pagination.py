from rest_framework.pagination import PageNumberPagination


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
