"""Local mode: on a zero-install run bound to 127.0.0.1, log the visitor in as the local admin.

Why: a person trying the demo should not have to sign up. Only active with TRACER_LOCAL_MODE=1,
which `make run` sets and the docker deployment never does.
"""
from django.conf import settings
from django.contrib.auth import get_user_model, login

LOCAL_USER = "local-admin"


class LocalModeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.TRACER_LOCAL_MODE and not request.user.is_authenticated:
            if request.META.get("REMOTE_ADDR") in ("127.0.0.1", "::1"):
                user = get_user_model().objects.filter(username=LOCAL_USER).first()
                if user is not None:
                    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return self.get_response(request)
