"""Sample SQS worker service. Run with ``python -m worker_app``."""

from .config import Config, ConfigError, load_config
from .consumer import BatchResult, Worker
from .processor import InvalidMessage, process_message

__all__ = [
    "BatchResult",
    "Config",
    "ConfigError",
    "InvalidMessage",
    "Worker",
    "load_config",
    "process_message",
]
