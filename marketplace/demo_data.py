"""Deterministic demo marketplace: clients, ~50 freelancers and ~10 gigs in the product's areas."""

from __future__ import annotations

import random

from django.db import transaction

from accounts.models import User
from marketplace import services
from marketplace.models import Client, FreelancerProfile, Gig, ModerationStatus
from marketplace.moderation.decisions import content_approve
from marketplace.services import SkillClaim, SkillNeed

DEMO_PASSWORD = "matchwork-demo-2026"
ADMIN_EMAIL = "admin@matchwork.local"
ADMIN_PASSWORD = "matchwork-admin-2026"

FIRST = [
    "Ana",
    "Ben",
    "Chen",
    "Dara",
    "Elif",
    "Femi",
    "Greta",
    "Hugo",
    "Isha",
    "Jonas",
    "Kemi",
    "Lena",
    "Mateo",
    "Nadia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Vera",
    "Wei",
    "Ximena",
    "Yusuf",
    "Zoe",
]
LAST = [
    "Alvarez",
    "Becker",
    "Costa",
    "Dubois",
    "Eze",
    "Fischer",
    "Gupta",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Mensah",
    "Novak",
    "Okafor",
    "Petrov",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Usman",
    "Varga",
    "Wong",
]
ZONES = [
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Africa/Lagos",
    "America/Mexico_City",
    "Europe/Madrid",
    "Asia/Manila",
    "America/Los_Angeles",
]

# (headline, bio, [(skill, level)], rate range)
ARCHETYPES = [
    (
        "Web scraping engineer | Scrapy, Playwright, proxy rotation",
        "I build and run crawlers that keep working: scheduling, retries, anti-bot handling and clean JSON output.",
        [
            ("Web scraping", "expert"),
            ("Scrapy", "expert"),
            ("Headless browser automation", "advanced"),
            ("Python", "expert"),
        ],
        (45, 90),
    ),
    (
        "Document AI specialist: OCR and invoice extraction",
        "Turning scanned PDFs and invoices into structured data with OCR, layout models and LLM-based extraction.",
        [
            ("OCR", "expert"),
            ("PDF parsing", "advanced"),
            ("Intelligent document processing", "advanced"),
            ("Python", "advanced"),
        ],
        (50, 110),
    ),
    (
        "Data annotation lead | CVAT, Label Studio, QA",
        "I run annotation projects end to end: guidelines, annotator training, QA sampling and agreement metrics.",
        [
            ("Data annotation", "expert"),
            ("Image annotation", "expert"),
            ("CVAT", "advanced"),
            ("Annotation QA", "advanced"),
        ],
        (18, 40),
    ),
    (
        "Audio transcription and speech labeling",
        "Verbatim transcription and speaker labeling for speech datasets, with careful quality checks.",
        [("Audio transcription", "expert"), ("Audio annotation", "advanced"), ("Label Studio", "intermediate")],
        (15, 35),
    ),
    (
        "Data quality analyst | SQL, dbt tests, Great Expectations",
        "I profile messy CRM and order data, write the checks that catch problems, and explain the fixes to "
        "the business.",
        [("Data quality analysis", "expert"), ("SQL", "expert"), ("Data profiling", "advanced"), ("dbt", "advanced")],
        (60, 110),
    ),
    (
        "ML engineer: LLM fine-tuning with LoRA and evaluation",
        "Fine-tuning open-weights models for classification and extraction, with honest evaluation before "
        "anything ships.",
        [
            ("LLM fine-tuning", "expert"),
            ("PyTorch", "expert"),
            ("Hugging Face Transformers", "expert"),
            ("LLM evaluation", "advanced"),
        ],
        (110, 180),
    ),
    (
        "Data scientist | churn models and explainability",
        "Classical ML for business questions: churn, propensity, forecasting, with SHAP explanations people trust.",
        [
            ("Machine learning", "expert"),
            ("scikit-learn", "expert"),
            ("Model explainability", "advanced"),
            ("Python", "expert"),
        ],
        (70, 130),
    ),
    (
        "MLOps engineer | MLflow, SageMaker, Terraform",
        "I take models from notebooks to monitored production services: CI/CD, model registry, drift alerts.",
        [
            ("MLOps", "expert"),
            ("MLflow", "advanced"),
            ("AWS SageMaker", "advanced"),
            ("Model monitoring", "advanced"),
            ("Terraform", "intermediate"),
        ],
        (100, 160),
    ),
    (
        "Prompt engineer for content and support assistants",
        "Designing prompts, evaluation sets and guardrails for LLM features that marketing and support teams rely on.",
        [("Prompt engineering", "expert"), ("LLM APIs", "advanced"), ("LLM evaluation", "intermediate")],
        (60, 120),
    ),
    (
        "No-code AI automation | Zapier, Make, OpenAI",
        "Connecting ChatGPT to the tools your team already uses: helpdesk, CRM, spreadsheets. No engineers needed.",
        [
            ("AI workflow automation", "expert"),
            ("Zapier", "expert"),
            ("Make", "advanced"),
            ("LLM APIs", "intermediate"),
        ],
        (45, 90),
    ),
    (
        "Executive coach for engineering leaders (ICF PCC)",
        "Former CTO coaching newly promoted VPs and directors through their first year: delegation, "
        "influence, strategy.",
        [("Executive coaching", "expert"), ("Leadership development", "advanced"), ("360 feedback", "advanced")],
        (150, 260),
    ),
    (
        "Career coach | transitions and outplacement",
        "Helping people find their next role after a layoff: CVs, LinkedIn, interview practice and a search plan.",
        [
            ("Career coaching", "expert"),
            ("Outplacement", "advanced"),
            ("Resume writing", "advanced"),
            ("Interview preparation", "advanced"),
        ],
        (50, 100),
    ),
    (
        "Life coach for founders and freelancers",
        "Focus, boundaries and energy for people who run their own show; burnout prevention without the fluff.",
        [("Personal coaching", "expert"), ("Burnout prevention", "advanced"), ("Time management coaching", "advanced")],
        (60, 130),
    ),
    (
        "Instructional designer | Storyline, SCORM, compliance",
        "Turning dense policy documents into short, scenario-based e-learning that people finish.",
        [
            ("Instructional design", "expert"),
            ("Articulate Storyline", "expert"),
            ("SCORM", "advanced"),
            ("Compliance training", "advanced"),
        ],
        (55, 95),
    ),
    (
        "AI upskilling trainer: ChatGPT and Copilot for office teams",
        "Hands-on workshops that teach non-technical staff to use generative AI tools safely and well.",
        [
            ("AI upskilling", "expert"),
            ("Workshop facilitation", "expert"),
            ("Generative AI tools", "advanced"),
            ("Corporate training", "advanced"),
        ],
        (80, 170),
    ),
    (
        "WordPress web designer",
        "Fast, accessible small-business websites on WordPress and Webflow.",
        [("Web design", "expert"), ("SEO", "intermediate")],
        (30, 70),
    ),
    (
        "Bookkeeper | QuickBooks and Xero",
        "Monthly bookkeeping, reconciliations and clean books for small companies.",
        [("Bookkeeping", "expert")],
        (25, 60),
    ),
]

CLIENTS = [
    ("Northwind Retail", "US", "ops@northwind.example"),
    ("Helvetia Claims AG", "CH", "data@helvetia-claims.example"),
    ("GreenRow Agritech", "NL", "ml@greenrow.example"),
    ("Brightpath People", "GB", "people@brightpath.example"),
]

GIGS = [
    (
        0,
        "Daily competitor price scraping for 40 shops",
        "We need a reliable scraper that collects prices and stock from about 40 competitor websites every morning "
        "and drops clean JSON into our bucket. Some sites block bots.",
        "hourly",
        40,
        75,
        20,
        [("Web scraping", True, "advanced"), ("Python", True, ""), ("Proxy rotation & anti-bot", False, "")],
        ["en"],
    ),
    (
        0,
        "Teach our sales team to use ChatGPT properly",
        "Our 25 sales reps use ChatGPT badly or not at all. We want practical workshops on writing good prompts, "
        "checking answers and keeping customer data safe.",
        "hourly",
        90,
        160,
        6,
        [("AI upskilling", True, ""), ("Workshop facilitation", True, ""), ("Prompt engineering", False, "")],
        ["en"],
    ),
    (
        1,
        "Fine-tune an open LLM to triage insurance claims",
        "Classify incoming claim emails into 12 categories and extract key fields. We have 30k labelled examples.",
        "hourly",
        120,
        170,
        25,
        [("LLM fine-tuning", True, "advanced"), ("PyTorch", True, ""), ("LLM evaluation", False, "")],
        ["en"],
    ),
    (
        1,
        "Extract line items from supplier invoices (PDF to JSON)",
        "Thousands of scanned and digital supplier invoices per month; we need line items as JSON with "
        "confidence scores.",
        "fixed",
        6000,
        12000,
        None,
        [("OCR", True, ""), ("PDF parsing", True, ""), ("LLM-based extraction", False, "")],
        ["en"],
    ),
    (
        2,
        "Lead annotator for crop and weed segmentation",
        "Polygon segmentation of field images in CVAT, plus writing the guidelines and reviewing a small team.",
        "hourly",
        20,
        38,
        30,
        [("Semantic segmentation", True, "advanced"), ("CVAT", True, ""), ("Annotation QA", False, "")],
        ["en"],
    ),
    (
        2,
        "Productionise and monitor our yield forecasting models",
        "Move two forecasting models from notebooks to a scheduled, monitored service on AWS with a model registry.",
        "hourly",
        100,
        150,
        20,
        [("MLOps", True, "advanced"), ("MLflow", False, ""), ("Model monitoring", True, "")],
        ["en"],
    ),
    (
        3,
        "Executive coach for a newly promoted VP of Engineering",
        "Six months of fortnightly coaching for our new VP: delegation, managing managers, board communication.",
        "hourly",
        150,
        240,
        2,
        [("Executive coaching", True, "expert"), ("Leadership development", False, "")],
        ["en"],
    ),
    (
        3,
        "Career transition coaching for 15 employees",
        "We are restructuring and want to support affected colleagues with CVs, interview practice and job "
        "search plans.",
        "hourly",
        60,
        100,
        15,
        [("Career coaching", True, ""), ("Outplacement", True, ""), ("Resume writing", False, "")],
        ["en"],
    ),
    (
        3,
        "Compliance policies to short SCORM courses",
        "Turn five compliance PDFs into engaging Storyline courses published as SCORM to our LMS.",
        "fixed",
        8000,
        14000,
        None,
        [("Instructional design", True, "advanced"), ("Articulate Storyline", True, ""), ("SCORM", True, "")],
        ["en"],
    ),
    (
        0,
        "Audit the data quality of our CRM and order tables",
        "Duplicates, missing fields and inconsistent statuses across CRM and orders in Snowflake: profile, "
        "quantify, propose checks.",
        "hourly",
        70,
        100,
        15,
        [("Data quality analysis", True, "advanced"), ("SQL", True, ""), ("Snowflake", False, "")],
        ["en"],
    ),
]


@transaction.atomic
def load_demo_data(freelancers: int = 50, seed: int = 7) -> dict[str, int]:
    """Create the demo marketplace once; a second call changes nothing (idempotent by email)."""
    rng = random.Random(seed)
    created = {"clients": 0, "freelancers": 0, "gigs": 0}
    moderator = User.objects.filter(email=ADMIN_EMAIL).first()
    if moderator is None:
        moderator = User.objects.create_superuser(ADMIN_EMAIL, ADMIN_PASSWORD, full_name="Demo Moderator")

    clients = []
    for name, country, email in CLIENTS:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email, DEMO_PASSWORD, role=User.Role.CLIENT, full_name=f"{name} owner")
            services.client_create(name=name, owner=user, country=country)
            created["clients"] += 1
        clients.append(Client.objects.get(memberships__user=user))

    for i in range(freelancers):
        headline, bio, skills, (lo, hi) = ARCHETYPES[i % len(ARCHETYPES)]
        first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
        email = f"{first.lower()}.{last.lower()}.{i}@freelancer.example"
        if User.objects.filter(email=email).exists():
            rng.random()  # keep the sequence stable for later records
            continue
        user = User.objects.create_user(email, DEMO_PASSWORD, role=User.Role.FREELANCER, full_name=f"{first} {last}")
        languages = ["en", *rng.choice([[], [], ["de"], ["es"], ["fr"], ["pt"]])]
        claims = [SkillClaim(name=s, level=level, years=rng.randint(1, 12)) for s, level in skills]
        profile = services.freelancer_profile_create(
            user=user,
            display_name=f"{first} {last}",
            headline=headline,
            bio=bio,
            hourly_rate=rng.randint(lo, hi),
            available_hours_per_week=rng.choice([0, 10, 20, 30, 40]),
            timezone=rng.choice(ZONES),
            languages=languages,
            skills=claims,
        )
        jobs = rng.choice([0, 0, 2, 5, 12, 30])
        FreelancerProfile.objects.filter(pk=profile.pk).update(
            completed_jobs=jobs, rating_count=jobs, rating_avg=round(rng.uniform(4.0, 5.0), 2) if jobs else None
        )
        created["freelancers"] += 1

    for client_index, title, description, budget_type, lo, hi, hours, needs, languages in GIGS:
        client = clients[client_index]
        if Gig.objects.filter(client=client, title=title).exists():
            continue
        owner = client.memberships.get(is_owner=True).user
        gig = services.gig_create(
            client=client,
            created_by=owner,
            title=title,
            description=description,
            budget_type=budget_type,
            budget_min=lo,
            budget_max=hi,
            hours_per_week=hours,
            duration_weeks=12,
            timezone="Europe/London",
            min_overlap_hours=2,
            languages=languages,
            skills=[SkillNeed(name=n, required=r, min_level=lvl) for n, r, lvl in needs],
        )
        gig = services.gig_publish(gig=gig, by=owner)
        if gig.moderation_status == ModerationStatus.PENDING:
            # New demo clients' first gigs wait for review under the moderation policy; the demo
            # moderator approves them so the demo has public gigs (each approval is in the audit trail).
            content_approve(target=gig, by=moderator, reason="Demo data: reviewed at seeding")
        created["gigs"] += 1
    return created
