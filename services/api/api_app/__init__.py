"""Sample internal api service. Run with ``gunicorn 'api_app:create_app()'``."""

from .config import Config, ConfigError, load_config
from .events import InMemoryEventPublisher, SnsEventPublisher
from .main import create_app
from .repository import InMemoryItemRepository, Item, ItemRepository, RepositoryError

__all__ = [
    "Config",
    "ConfigError",
    "InMemoryEventPublisher",
    "InMemoryItemRepository",
    "Item",
    "ItemRepository",
    "RepositoryError",
    "SnsEventPublisher",
    "create_app",
    "load_config",
]
