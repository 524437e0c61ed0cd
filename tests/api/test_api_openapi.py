"""Schemathesis against the app's own OpenAPI document: no input makes the server fail.

Bounded: a few generated cases per operation, as admin (so requests get past auth and reach
the library), no shrinking, no example database.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.api.conftest import Env, photo_bytes

EXAMPLES = 6


@schemathesis.check
def no_server_error(ctx: object, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """A 5xx fails, except a documented 503 for models this machine lacks (an install
    state, not a server fault: e.g. tag calibration or the image head not shipped yet)."""
    if response.status_code == 503 and response.json().get("code") == "model_not_installed":
        return
    not_a_server_error(ctx, response, case)  # type: ignore[arg-type]


def test_openapi_fuzz_finds_no_server_errors(env: Env) -> None:
    files = [("files", ("seed.jpg", photo_bytes(600), "image/jpeg"))]
    env.client.post("/api/v1/assets", headers=env.auth("editor"), files=files)
    schema = schemathesis.openapi.from_asgi("/openapi.json", env.app)
    headers = env.auth("admin")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            case.validate_response(response, checks=[no_server_error, response_schema_conformance])

        try:
            check()
        except Exception as exc:  # collect every failing operation, not just the first
            failures.append(f"{operation.label}: {exc}")
    assert operations >= 25
    assert not failures, "\n\n".join(failures)
