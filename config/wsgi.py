import os

from django.core.wsgi import get_wsgi_application

from config.process import freeze_long_lived_objects

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
# Each gunicorn worker imports this module once: what Django loaded stays out of full collections.
freeze_long_lived_objects(after="wsgi application loaded")

from django.conf import settings  # noqa: E402 - after the application: settings are configured

if settings.MATCHING_LOAD_MODEL_AT_START:
    from matching.encoder import load_in_background

    load_in_background()
