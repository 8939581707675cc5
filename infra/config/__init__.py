"""Configuration: the files under environments/ and services/ become frozen, typed specs.

Data flows one way: files -> `load_app` -> specs (`infra.config.specs`) -> constructs.
Nothing outside this package reads a configuration file.
"""

from infra.config.errors import ConfigError
from infra.config.loader import SECRET_LIKE, default_priority, load_app, service_url

__all__ = ["ConfigError", "SECRET_LIKE", "default_priority", "load_app", "service_url"]
