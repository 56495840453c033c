import pytest

from tests.reliability.harness import FIGURES, Stack


@pytest.fixture
def stack():
    s = Stack()
    s.start_servers()
    yield s
    s.close()


@pytest.fixture(scope="module")
def web_stack():
    """One stack with gunicorn for a module of scenarios that do not break the servers."""
    s = Stack()
    s.start_servers()
    s.start_web(workers=3)
    yield s
    s.close()


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("reliability scenarios: figures (docs/reliability.md)")
        for line in FIGURES:
            terminalreporter.write_line(line)
