from typing import Any

from django import forms

from statuspage import selectors
from statuspage.models import Component


class SubscribeForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=254)
    scope = forms.ChoiceField(
        label="Tell me about",
        choices=[("all", "Everything"), ("some", "Only the components I choose")],
        initial="all",
        widget=forms.RadioSelect,
    )
    components = forms.ModelMultipleChoiceField(
        queryset=Component.objects.none(),
        to_field_name="code",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["components"]
        if isinstance(field, forms.ModelMultipleChoiceField):
            field.queryset = selectors.visible_components()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("scope") == "some" and not cleaned.get("components"):
            self.add_error("components", "Choose at least one component, or everything.")
        return cleaned

    def chosen_components(self) -> list[Component] | None:
        """None for everything."""
        if self.cleaned_data["scope"] == "all":
            return None
        return list(self.cleaned_data["components"])
