from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.forms import RateLimitedAdminAuthenticationForm
from accounts.models import ApiToken, User

# The admin's sign-in is locked as ours is (accounts.lockout), and says so in the same words.
admin.site.login_form = RateLimitedAdminAuthenticationForm


@admin.register(User)
class UserAdmin(DjangoUserAdmin[User]):
    list_display = ("username", "email", "first_name", "last_name", "role_shown", "is_active")
    list_filter = ("role", "is_active", "is_superuser")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        ("Tocsin", {"fields": ("role", "timezone")}),
    )

    @admin.display(description="Role", ordering="role")
    def role_shown(self, user: User) -> str:
        return user.get_role_display()


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at")
    readonly_fields = ("key_hash", "prefix", "created_at", "last_used_at")
