"""Routes of the browser UI."""

from django.urls import path

from labeling_ui import views

urlpatterns = [
    path("", views.home, name="home"),
]
