"""The sign-in page, with the same brake on password guessing as the API (tracer.api.throttling).

Why a subclass of Django's LoginView: the form, CSRF, `next` handling and session rotation stay
Django's; only a failed attempt is counted, and past TRACER_AUTH_FAILURES failures per address or
username within TRACER_AUTH_WINDOW seconds the password is not checked and the page answers 429.
"""
from __future__ import annotations

from django.contrib.auth.views import LoginView

from tracer.api import throttling


class ThrottledLoginView(LoginView):
    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        wait = throttling.locked_for(request, username)
        if wait:
            message = f"Too many failed sign-in attempts from this address or for this user; try again in {wait} s."
            response = self.render_to_response(self.get_context_data(throttled=message))
            response.status_code = 429
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        throttling.record_failure(self.request, self.request.POST.get("username", ""))
        return super().form_invalid(form)
