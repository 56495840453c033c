"""The read-only "latest match run" panel of the gig admin page."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html, format_html_join

from marketplace.models import Gig

SHOWN_RESULTS = 20


def latest_match_run_html(gig: Gig) -> str:
    """The gig's latest match run: status, model, then each candidate's rank, score and explanation."""
    from matching.selectors import match_run_latest

    run = match_run_latest(gig_id=gig.pk)
    if run is None:
        return "No match run yet. Use the “Recompute matches” action to schedule one."
    header = format_html(
        '<p><a href="{}">Run #{}</a> — <strong>{}</strong>, {} strategy, scheduled {} by “{}”{}; '
        "{} candidate(s){}.</p>",
        reverse("admin:matching_matchrun_change", args=[run.pk]),
        run.pk,
        run.get_status_display(),
        run.strategy,
        run.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        run.trigger or "—",
        format_html(", model {}@{}", run.model_name, run.model_version) if run.model_name else "",
        run.candidate_count,
        format_html(" — error: {}", run.error) if run.error else "",
    )
    results = list(run.results.all()[:SHOWN_RESULTS])
    if not results:
        return header
    rows = format_html_join(
        "",
        '<tr><td>{}</td><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>',
        (
            (
                r.rank,
                reverse("admin:marketplace_freelancerprofile_change", args=[r.freelancer_id]),
                r.freelancer.display_name,
                f"{r.score:.3f}",
                format_html_join("", "<li>{}</li>", ((line,) for line in (r.explanation or {}).get("summary", []))),
                ", ".join(f"{k} {v:.2f}" for k, v in (r.components or {}).items() if isinstance(v, int | float)),
            )
            for r in results
        ),
    )
    return format_html(
        '{}<table class="match-run"><thead><tr><th>#</th><th>freelancer</th><th>score</th><th>explanation</th>'
        "<th>components</th></tr></thead><tbody>{}</tbody></table>",
        header,
        rows,
    )
