"""The WSGI application (served by waitress: `icsys serve`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icsys.web.settings")
application = get_wsgi_application()
