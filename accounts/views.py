from django.contrib.auth import views as auth_views
from django.http import HttpResponse

from accounts.forms import RateLimitedAuthenticationForm


class LoginView(auth_views.LoginView):
    form_class = RateLimitedAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form: RateLimitedAuthenticationForm) -> HttpResponse:  # type: ignore[override]
        response = super().form_invalid(form)
        if form.rate_limited:
            response.status_code = 429
        return response
