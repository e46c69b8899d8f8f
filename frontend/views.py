"""Browser UI pages (they use only the public REST API)."""
from django.http import HttpResponse


def index(request):
    return HttpResponse("Kubernetes traffic tracer")
