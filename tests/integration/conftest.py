import pytest


@pytest.fixture
def dashboard(gateway, make_client):
    """The store of a dashboard connected to the test's gateway."""
    client = make_client()
    client.connect(gateway.url)
    assert client.wait_connected(10)
    return client.store
