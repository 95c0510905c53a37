"""What every app's web forms share."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the matching fields, or on the form as a whole."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    errors: dict[str, Any] = error.error_dict
    for name, messages in errors.items():
        form.add_error(name if name in form.fields else None, messages)
