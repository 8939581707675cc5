"""Sample public web service. Run with ``gunicorn 'web_app:create_app()'``."""

from .config import Config, ConfigError, load_config
from .main import create_app

__all__ = ["Config", "ConfigError", "create_app", "load_config"]
