from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "matching"
    verbose_name = "Matching"

    def ready(self) -> None:
        from marketplace import signals as marketplace_signals

        from . import signals

        marketplace_signals.profile_changed.connect(signals.on_profile_changed, dispatch_uid="matching.profile_changed")
        marketplace_signals.gig_changed.connect(signals.on_gig_changed, dispatch_uid="matching.gig_changed")
