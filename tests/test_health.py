import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_every_dependency(client):
    response = client.get("/healthz")
    body = response.json()
    assert set(body["checks"]) == {"database", "pgvector", "broker", "model_files"}
    assert body["checks"]["database"] is True
    assert body["checks"]["pgvector"] is True
    assert body["checks"]["broker"] is True
    assert body["checks"]["model_files"] is True
    assert response.status_code == 200


def test_healthz_is_503_when_broker_unreachable(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] is False
    assert response.json()["status"] == "unavailable"


def test_healthz_is_503_when_model_files_missing(client, settings, tmp_path):
    settings.MATCHING_MODEL_PATH = str(tmp_path)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["model_files"] is False
