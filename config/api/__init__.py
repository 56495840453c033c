"""HTTP plumbing shared by every app's API: error shape, pagination, throttles, queryset scoping.

No business logic lives here.
"""
