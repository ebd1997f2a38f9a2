"""Schemathesis against the real API's own OpenAPI document, authenticated: whatever a client
sends to any documented route, valid or not, the answer is never a 5xx.

Bounded so it stays a couple of minutes on two cores; a failure names the request that broke.
(Schemathesis' pytest loader does not run on pytest 9 yet, so operations are walked here.)
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error

from tests.support.client import Account, register
from tests.support.processes import AppProcesses

EXAMPLES_PER_OPERATION = 25
# Streams never end by themselves, and logging out would revoke the token every case uses.
NOT_FUZZED = r"/events$|^/auth/logout$"


@pytest.fixture
async def account(api: httpx.AsyncClient) -> Account:
    return await register(api)


def test_no_request_makes_the_api_fail(apps: AppProcesses, account: Account) -> None:
    schema = schemathesis.openapi.from_url(f"{apps.base_url}/schema/openapi.json")
    operations = [
        result.ok() for result in schema.exclude(path_regex=NOT_FUZZED).get_all_operations()
    ]
    assert len(operations) > 20, "the document lists fewer routes than the API has"
    for operation in operations:
        cases = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
            GenerationMode.NEGATIVE
        )

        @given(case=cases)
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,  # nothing kept between runs; each run draws afresh
            suppress_health_check=list(HealthCheck),
        )
        def never_a_5xx(case: Case) -> None:
            response = case.call(headers=account.headers, timeout=30)
            case.validate_response(response, checks=[not_a_server_error])

        never_a_5xx()
