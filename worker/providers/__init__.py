"""Provider registry: names the API accepts, their capabilities, and factories."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from worker.providers.base import Capabilities, Provider


def provider_names() -> tuple[str, ...]:
    from worker.providers import testing

    extra = tuple(testing.TEST_PROVIDERS) if testing.enabled() else ()
    return ("local", "openai", *extra)


def capabilities(name: str) -> Capabilities:
    if name == "local":
        from worker.providers.local import CAPABILITIES

        return CAPABILITIES
    if name == "openai":
        from worker.providers.openai_compat import CAPABILITIES

        return CAPABILITIES
    from worker.providers import testing

    if testing.enabled() and name in testing.TEST_PROVIDERS:
        return testing.CAPABILITIES
    raise KeyError(name)


def build_provider(name: str, config: Mapping[str, Any]) -> Provider:
    """A provider instance configured from the app config."""
    if name == "local":
        from worker.providers.local import LocalProvider

        return LocalProvider()
    if name == "openai":
        from worker.providers.openai_compat import OpenAICompatProvider

        base_url = config.get("OPENAI_BASE_URL")
        if not base_url:
            from worker.providers.base import ProviderError

            raise ProviderError(
                "the openai provider is not configured (OPENAI_BASE_URL)",
                code="provider_not_configured",
            )
        return OpenAICompatProvider(
            base_url=base_url,
            api_key=config.get("OPENAI_API_KEY"),
            poll_interval=config.get("OPENAI_POLL_INTERVAL", 5.0),
        )
    from worker.providers import testing

    if testing.enabled() and name in testing.TEST_PROVIDERS:
        return testing.TEST_PROVIDERS[name]()
    raise KeyError(name)
