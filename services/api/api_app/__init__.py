"""Sample internal api service. Run with ``gunicorn 'api_app:create_app()'``."""

from .config import Config, ConfigError, load_config
from .main import create_app
from .repository import InMemoryItemRepository, Item, ItemRepository, RepositoryError

__all__ = [
    "Config",
    "ConfigError",
    "InMemoryItemRepository",
    "Item",
    "ItemRepository",
    "RepositoryError",
    "create_app",
    "load_config",
]
