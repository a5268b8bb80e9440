from django.conf import settings
from django.urls import path, re_path
from django.views.static import serve

from notes import views

urlpatterns = [
    path("", views.index),
    path("health", views.health),
    path("smoke", views.smoke),
    path("notes", views.notes),
    # Berth's nginx routes every request to the service, so Django serves the collected files.
    re_path(r"^static/(?P<path>.*)$", serve, {"document_root": settings.STATIC_ROOT}),
]
