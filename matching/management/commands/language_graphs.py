"""Build and drop the language graphs (matching.ranking.graphs) now, instead of waiting for the
daily task: a partial HNSW index per language that a minority of the listed profiles speak."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm


class Command(BaseCommand):
    help = "Build the partial HNSW index of each minority language the data calls for; drop the others."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")

    def handle(self, *args, dry_run: bool, **options) -> None:
        from matching.ranking.graphs import plan_language_graphs
        from matching.services import language_graphs_sync

        plan = plan_language_graphs()
        share = {code: n / plan.listed for code, n in plan.speakers.items()} if plan.listed else {}
        self.stdout.write(f"{plan.listed:,} listed profiles; speakers per language:")
        for code, n in plan.speakers.items():
            mark = "graph" if code in plan.wanted else "-"
            self.stdout.write(f"  {code:8} {n:>10,}  {share.get(code, 0):6.1%}  {mark}")
        self.stdout.write(
            f"build: {', '.join(plan.create) or 'nothing'}; drop: {', '.join(plan.drop) or 'nothing'}; "
            f"keep: {', '.join(plan.keep) or 'nothing'}"
        )
        if dry_run or not (plan.create or plan.drop):
            return
        with tqdm(total=len(plan.create) + len(plan.drop), desc="language graphs", unit="index") as bar:
            steps = []

            def progress(action: str, what: str) -> None:  # called as each step starts
                if steps:
                    bar.update(1)
                steps.append(action)
                bar.set_postfix_str(f"{action} {what}")

            done = language_graphs_sync(plan=plan, progress=progress)  # what was shown above
            if steps:
                bar.update(1)
        self.stdout.write(self.style.SUCCESS(f"built {done.create or 'none'}, dropped {done.drop or 'none'}"))
