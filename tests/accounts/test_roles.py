"""A superuser is an admin wherever a role is shown, as is_admin has it."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role, User
from tests.incidents.api_support import API, api_client


@pytest.fixture
def superuser(db: None) -> User:
    # What createsuperuser makes: role left at its default.
    return User.objects.create_superuser("root", "root@example.com", "correct-horse-battery")


def test_a_superuser_s_role_is_admin_whatever_the_field_says(superuser):
    assert superuser.role == Role.RESPONDER
    assert superuser.effective_role == Role.ADMIN
    assert superuser.get_role_display() == "Admin"


def test_other_users_show_their_role(db):
    user = User.objects.create_user("mia", role=Role.MANAGER)

    assert user.get_role_display() == "Manager"


def test_the_user_menu_labels_a_superuser_admin(client: Client, superuser):
    client.force_login(superuser)

    content = client.get(reverse("incidents:list")).content.decode()

    assert "Admin · times in" in content
    assert "Responder · times in" not in content


def test_the_api_lists_a_superuser_as_admin(superuser):
    rows = api_client(superuser).get(f"{API}/users/").json()["results"]

    assert rows == [{"username": "root", "name": "root", "role": "admin"}]


def test_the_admin_user_list_labels_a_superuser_admin(client: Client, superuser):
    client.force_login(superuser)

    content = client.get(reverse("admin:accounts_user_changelist")).content.decode()

    assert '<td class="field-role_shown">Admin</td>' in content
