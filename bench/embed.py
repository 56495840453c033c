"""Embedding pipeline throughput: the real worker path against raw SentenceTransformer.encode.

    python -m bench.embed [--profiles 1024] [--batch 64]

On the bench database (grown to at least --profiles synthetic freelancers if needed) the chosen
profiles' documents and vectors are deleted, then, in the same process:

- raw: ``SentenceTransformer.encode`` of exactly the texts the pipeline will encode (both views
  of every profile of a task), the encoder's batch size, normalised — the model's own throughput;
- pipeline: the Celery task body ``embed_freelancers(ids)`` for the same ``--batch`` profiles
  (read rows, build documents, write full-text documents and postings, encode, upsert vectors)
  — what a worker does per message, without the broker;

interleaved task by task (raw first, then worker first, ...), so drift on a shared machine falls
on both alike; and before every 512 texts, one raw call over all of them (the model sorts a call
by length, so larger calls pad less): the pipeline is reported against both.

Prints profiles/s of both and their ratio. The profiles' original vectors are restored afterwards
so the ranking bench stays reproducible.
"""

from __future__ import annotations

import argparse
import time

from bench.common import OUT, peak_rss_mib, start_bench, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=64, help="profiles per task (tasks.EMBED_BATCH)")
    parser.add_argument("--json", default=str(OUT / "embed.json"))
    args = parser.parse_args()
    info = start_bench()
    from django.db import connection
    from tqdm import tqdm

    from bench.synthetic import freelancer_count, seed_freelancers
    from marketplace.models import FreelancerProfile
    from matching.documents import freelancer_document
    from matching.encoder import BATCH_SIZE, get_encoder
    from matching.models import EmbeddingView, FreelancerDocument, FreelancerEmbedding
    from matching.tasks import embed_freelancers

    if freelancer_count() < args.profiles:
        seed_freelancers(args.profiles)
    ids = list(FreelancerProfile.objects.order_by("id").values_list("id", flat=True)[: args.profiles])
    profiles = FreelancerProfile.objects.filter(id__in=ids).prefetch_related("skill_claims__skill").order_by("id")
    views = {}
    for p in profiles:
        doc = freelancer_document(p)
        views[p.id] = [doc.views[EmbeddingView.FULL], doc.views[EmbeddingView.SKILLS]]
    batches = [ids[i : i + args.batch] for i in range(0, len(ids), args.batch)]
    texts = [[t for pid in b for t in views[pid]] for b in batches]
    encoder = get_encoder()
    model = encoder._model
    model.encode(texts[0][:64], batch_size=BATCH_SIZE, normalize_embeddings=True)  # warm-up

    def raw(chunk: list[str]) -> float:
        t = time.perf_counter()
        model.encode(chunk, batch_size=BATCH_SIZE, normalize_embeddings=True, convert_to_numpy=True)
        return time.perf_counter() - t

    with connection.cursor() as c:
        c.execute("DROP TABLE IF EXISTS bench_saved_embeddings")
        c.execute(
            "CREATE TABLE bench_saved_embeddings AS SELECT * FROM matching_freelancerembedding "
            "WHERE profile_id = ANY(%s)",
            [ids],
        )
    raw_s = pipeline = 0.0
    encoded = 0
    try:
        FreelancerEmbedding.objects.filter(profile_id__in=ids).delete()
        FreelancerDocument.objects.filter(profile_id__in=ids).delete()
        # Interleaved per task (raw then worker, worker then raw, ...): both paths see the same
        # share of whatever else the machine is doing. Every 512 texts, one raw call over all of
        # them too: what the model does when it can sort a larger call by length.
        big = 0.0
        group = max(1, 512 // (2 * args.batch))
        work = list(zip(batches, texts, strict=True))
        for k in tqdm(range(0, len(work), group), desc="raw|worker", unit="group"):
            big += raw([t for _, chunk in work[k : k + group] for t in chunk])
            for j, (batch, chunk) in enumerate(work[k : k + group]):
                if (k + j) % 2:
                    t = time.perf_counter()
                    encoded += embed_freelancers(batch)
                    pipeline += time.perf_counter() - t
                    raw_s += raw(chunk)
                else:
                    raw_s += raw(chunk)
                    t = time.perf_counter()
                    encoded += embed_freelancers(batch)
                    pipeline += time.perf_counter() - t
    finally:
        with connection.cursor() as c:
            c.execute("DELETE FROM matching_freelancerembedding WHERE profile_id = ANY(%s)", [ids])
            c.execute("INSERT INTO matching_freelancerembedding SELECT * FROM bench_saved_embeddings")
            c.execute("DROP TABLE bench_saved_embeddings")
    n = len(ids)
    result = {
        "profiles": n,
        "texts": sum(len(c) for c in texts),
        "vectors_encoded": encoded,
        "batch": args.batch,
        "pipeline_s": pipeline,
        "raw_s": raw_s,
        "raw_512_chunks_s": big,
        "pipeline_profiles_per_s": n / pipeline,
        "raw_profiles_per_s": n / raw_s,
        "raw_512_chunks_profiles_per_s": n / big,
        "ratio": raw_s / pipeline,
        "ratio_vs_512_text_calls": big / pipeline,
        "bench_peak_rss_mib": peak_rss_mib(),
        "torch_threads": __import__("torch").get_num_threads(),
    }
    print(
        f"\nworker path: {n} profiles ({encoded} vectors) in {pipeline:.1f}s = {result['pipeline_profiles_per_s']:.1f} "
        f"profiles/s\nraw encode : same {result['texts']} texts, same {args.batch}-profile calls, in {raw_s:.1f}s = "
        f"{result['raw_profiles_per_s']:.1f} profiles/s (in 512-text calls: {n / big:.1f} profiles/s)\n"
        f"ratio pipeline/raw = {result['ratio']:.3f} (same calls), "
        f"{result['ratio_vs_512_text_calls']:.3f} (512-text calls)  "
        f"(torch threads {result['torch_threads']}, peak RSS {result['bench_peak_rss_mib']:.0f} MiB)"
    )
    write_json(args.json, {"machine": info, "result": result})


if __name__ == "__main__":
    main()
