from django.urls import include, path

from icsys.web import views
from icsys.web.api import api

urlpatterns = [
    path("api/", api.urls),
    path("accounts/login/", views.sign_in_page, name="login"),
    path("accounts/logout/", views.sign_out, name="logout"),
    path("static/<str:name>", views.static_file, name="static"),
    path("", include("icsys.care.urls")),
]
