import pytest

from tests.reliability.harness import Stack


@pytest.fixture
def stack():
    s = Stack()
    s.start_servers()
    yield s
    s.close()
