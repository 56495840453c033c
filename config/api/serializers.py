from rest_framework import serializers


class StrictInputSerializer(serializers.Serializer):
    """Input serializer that rejects fields it does not declare.

    Mass assignment of ``status``, ``rating_avg``, ``owner``... is answered with a 400 naming each
    such field instead of being silently dropped, so a client learns its request was not applied.
    """

    def to_internal_value(self, data):
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(str(key) for key in data if key not in writable)
            if unknown:
                raise serializers.ValidationError({key: ["This field cannot be set."] for key in unknown})
        return super().to_internal_value(data)
