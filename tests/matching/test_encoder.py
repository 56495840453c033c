import numpy as np
import pytest

from matching.encoder import ModelIntegrityError, active_model, cpu_has_bfloat16, model_path, query_bfloat16


def test_model_with_a_different_checksum_is_refused(settings, tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"not the published weights")
    settings.MATCHING_MODEL_PATH = str(tmp_path)
    settings.MATCHING_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    with pytest.raises(ModelIntegrityError, match="Refusing to load the matching model") as excinfo:
        active_model()
    assert "53aa5117" in str(excinfo.value)


def test_bundled_model_passes_the_checksum_and_is_identified():
    identity = active_model()
    assert identity.version == "53aa51172d142c89"
    assert identity.name == "all-MiniLM-L6-v2"
    assert identity.path == str(model_path())


@pytest.mark.model
def test_encoder_returns_normalised_384_dimensional_vectors(encoder):
    vectors = encoder.encode(["Prompt engineering workshops", "teach our sales team to use ChatGPT", "bookkeeping"])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    # The bridge the product depends on: plain business language lands near the specialist words.
    assert vectors[1] @ vectors[0] > vectors[1] @ vectors[2]


QUERY_TEXTS = [
    "Label 20k support tickets by intent and check the annotators' agreement",
    "Career coaching for engineers moving into AI product roles",
    "Fine-tune a small open model on our contracts; deploy it behind an API with monitoring",
]


@pytest.mark.model
def test_query_texts_in_bfloat16_stay_within_1e4_of_float32(encoder, settings):
    settings.MATCHING_QUERY_BFLOAT16 = "on"
    fast, exact = encoder.encode_query(QUERY_TEXTS), encoder.encode(QUERY_TEXTS)
    assert fast.dtype == np.float32 and fast.shape == (3, 384)
    assert not np.array_equal(fast, exact)  # the bfloat16 arithmetic did run
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-4)
    assert (fast * exact).sum(axis=1).min() > 1 - 1e-4


@pytest.mark.model
def test_query_precision_follows_the_setting(encoder, settings):
    settings.MATCHING_QUERY_BFLOAT16 = "off"
    assert not query_bfloat16()
    np.testing.assert_array_equal(encoder.encode_query(QUERY_TEXTS), encoder.encode(QUERY_TEXTS))
    settings.MATCHING_QUERY_BFLOAT16 = "auto"
    assert query_bfloat16() == cpu_has_bfloat16()
