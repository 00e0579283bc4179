"""Schema fuzzing in CI (issue 9): schemathesis generates requests, valid and invalid, from our OpenAPI
document and sends them to a live `facekeeper serve`. Any 5xx, or an answer that contradicts the
documented schema, fails.

Bounded: a fixed number of examples per operation and mode, no shrinking, so the run ends in minutes.
(schemathesis' pytest plugin does not run on this pytest; its Python API and Hypothesis do the same.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import SearchStrategy
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.e2e.server import ServerFactory

pytestmark = pytest.mark.slow
EXAMPLES_PER_OPERATION_AND_MODE = 20
BOUNDED = settings(
    max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
    suppress_health_check=list(HealthCheck),
    database=None,
)


def _fuzz(strategy: SearchStrategy[schemathesis.Case], headers: dict[str, str]) -> None:
    @BOUNDED
    @given(case=strategy)
    def call(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance], timeout=30)

    call()


def test_no_server_error_and_every_answer_matches_the_schema(server_factory: ServerFactory) -> None:
    # Models preloaded: /readyz answers 503 while they load, by design, and a 5xx fails this test.
    server = server_factory.start(FACEKEEPER_PRELOAD_MODELS="true")
    keys = {
        "/api/v1/recognition": server.create_key("recognition", "fuzz-recognition"),
        "/api/v1/detection": server.create_key("detection", "fuzz-detection"),
        "/api/v1/verification": server.create_key("verification", "fuzz-verification"),
    }
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid schema raises here: a failure too
        operations += 1
        key = next((value for prefix, value in keys.items() if operation.path.startswith(prefix)), None)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation.as_strategy(generation_mode=mode), {"x-api-key": key} if key else {})
            except Unsatisfiable:
                pass  # nothing to make invalid (no parameters, or only a path id): nothing to send
            except (Exception, BaseExceptionGroup) as error:  # one operation's failure must not hide others'
                failures.append(f"{operation.label} ({mode.value}): {str(error)[:2000]}")
    assert operations >= 20, "the OpenAPI document lost its operations"
    assert failures == [], "\n\n".join(failures)
    assert "Traceback" not in server.stderr()
