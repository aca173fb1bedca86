from django.urls import path

from icsys.web import views
from icsys.web.api import api

urlpatterns = [
    path("api/", api.urls),
    path("accounts/login/", views.sign_in_page, name="login"),
    path("accounts/logout/", views.sign_out, name="logout"),
    path("", views.home, name="home"),
]
