from rest_framework import serializers


class StrictInputSerializer(serializers.Serializer):
    """Input serializer that rejects fields it does not declare, and non-strings for text fields.

    Mass assignment of ``status``, ``rating_avg``, ``owner``... is answered with a 400 naming each
    such field instead of being silently dropped, so a client learns its request was not applied.
    DRF would turn ``{"title": 123}`` into ``"123"``; a number where text is expected is a client
    bug worth reporting, so it is a 400 too.
    """

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            return super().to_internal_value(data)
        errors: dict[str, list[str]] = {}
        for key, value in data.items():
            field = self.fields.get(key)
            if field is None or field.read_only:
                errors[str(key)] = ["This field cannot be set."]
            elif isinstance(field, serializers.CharField) and value is not None and not isinstance(value, str):
                errors[key] = ["Not a valid string."]
        try:
            # validate the rest too, so one response names every bad field
            value = super().to_internal_value({k: v for k, v in data.items() if k not in errors})
        except serializers.ValidationError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            raise serializers.ValidationError({**detail, **errors}) from None
        if errors:
            raise serializers.ValidationError(errors)
        return value
