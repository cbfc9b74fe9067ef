"""Fixtures: one in-process emulator per module (reset between tests) and a boto3 client."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from emulator_helpers import ACCESS_KEY, SECRET_KEY, SONNET_45, make_client

from kong_plugins.emulator import EmulatorServer, EmulatorSettings

REPO_ROOT = str(Path(__file__).resolve().parents[2])
if REPO_ROOT not in sys.path:  # ``tests.openai_stub`` must import under a bare ``pytest`` too
    sys.path.insert(0, REPO_ROOT)


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorSettings(host="127.0.0.1", port=0, access_key_id=ACCESS_KEY,
                                         secret_access_key=SECRET_KEY)) as emu:
        yield emu


@pytest.fixture(autouse=True)
def _fresh_state(request: pytest.FixtureRequest) -> None:
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").reset()


@pytest.fixture(scope="module")
def client(emulator: EmulatorServer) -> Any:
    return make_client(emulator.url)


@pytest.fixture
def invoke(client: Any) -> Callable[..., dict[str, Any]]:
    def call(body: dict[str, Any], model: str = SONNET_45) -> dict[str, Any]:
        response = client.invoke_model(modelId=model, body=json.dumps(body))
        return {"json": json.loads(response["body"].read()),
                "headers": response["ResponseMetadata"]["HTTPHeaders"]}
    return call
