import pytest

from tests.stack import GatewayStack


@pytest.fixture(scope="module")
def stack():
    with GatewayStack() as running:
        yield running


@pytest.fixture(autouse=True)
def _clean_emulator(stack):
    stack.emulator_control("DELETE", "/_emulator/faults")
    stack.emulator_control("DELETE", "/_emulator/requests")
    yield
