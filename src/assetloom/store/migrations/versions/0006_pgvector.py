"""embeddings: a pgvector `embedding` column on PostgreSQL (nothing on SQLite)

The float32 bytes in `embeddings.vector` stay the catalog's truth on both backends. On
PostgreSQL an untyped `vector` column beside them is what index.pgvector searches: a trigger
fills it from the bytes on INSERT (and on UPDATE of the bytes), so writers need no change; a
writer may pass `embedding` itself in the same INSERT to skip the conversion. Spaces differ in
dimension, so the HNSW indexes are partial expression indexes per (space, dimension), made by
index.pgvector once a space's dimension is known, not here.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Little-endian IEEE 754 float32 bytes -> vector, in SQL (no C extension of ours). NULL for
# bytes no vector can hold: a length that is not a multiple of 4, no values, over 16,000
# dimensions (pgvector's limit), or an infinity / NaN (pgvector refuses them), so such a row is
# kept but never found, instead of failing the whole INSERT.
F32LE_TO_VECTOR = """
CREATE FUNCTION assetloom_f32le_to_vector(b bytea) RETURNS vector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT CASE
    WHEN length(b) % 4 <> 0 OR count(*) = 0 OR count(*) > 16000 OR bool_or(e = 255) THEN NULL
    ELSE array_agg(
        CASE WHEN e = 0 THEN m * 2::float8 ^ -149 ELSE (8388608 + m) * 2::float8 ^ (e - 150) END
        * (1 - 2 * s) ORDER BY i
    )::real[]::vector
END
FROM (
    SELECT i, (w >> 31) & 1 AS s, (w >> 23) & 255 AS e, w & 8388607 AS m
    FROM (
        SELECT i, get_byte(b, 4 * i)::bigint
            | (get_byte(b, 4 * i + 1)::bigint << 8)
            | (get_byte(b, 4 * i + 2)::bigint << 16)
            | (get_byte(b, 4 * i + 3)::bigint << 24) AS w
        FROM generate_series(0, length(b) / 4 - 1) AS i
    ) AS words
) AS parts
$$
"""

FILL_EMBEDDING = """
CREATE FUNCTION assetloom_embeddings_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.embedding IS NULL THEN
            NEW.embedding := assetloom_f32le_to_vector(NEW.vector);
        END IF;
    ELSIF NEW.vector IS DISTINCT FROM OLD.vector
            AND NEW.embedding IS NOT DISTINCT FROM OLD.embedding THEN
        NEW.embedding := assetloom_f32le_to_vector(NEW.vector);
    END IF;
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute("ALTER TABLE embeddings ADD COLUMN embedding vector")
    op.execute(F32LE_TO_VECTOR)
    op.execute(FILL_EMBEDDING)
    op.execute(
        "CREATE TRIGGER embeddings_fill_embedding BEFORE INSERT OR UPDATE OF vector, embedding "
        "ON embeddings FOR EACH ROW EXECUTE FUNCTION assetloom_embeddings_fill()"
    )
    op.execute("UPDATE embeddings SET embedding = assetloom_f32le_to_vector(vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS embeddings_fill_embedding ON embeddings")
    op.execute("DROP FUNCTION IF EXISTS assetloom_embeddings_fill()")
    # Dropping the column drops the per-space HNSW indexes on it too.
    op.execute("ALTER TABLE embeddings DROP COLUMN IF EXISTS embedding")
    op.execute("DROP FUNCTION IF EXISTS assetloom_f32le_to_vector(bytea)")
