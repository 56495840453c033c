"""Matching tables (embeddings, match runs) are added by the matching engine."""
