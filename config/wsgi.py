"""WSGI entry point (gunicorn config.wsgi)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# A serving process: warm the compiled models in the background when TRACER_WARM_MODELS is on (topology.warm).
from topology.warm import start  # noqa: E402  (needs the apps loaded by get_wsgi_application)

start()
