from django.apps import AppConfig


class TracerConfig(AppConfig):
    name = "tracer"
    verbose_name = "Traces and jobs"
