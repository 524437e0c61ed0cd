"""The web tests share the API tests' library-and-app fixture."""

from tests.api.conftest import env  # noqa: F401
