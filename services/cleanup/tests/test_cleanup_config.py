"""Configuration: the platform's variables, the job's knobs, and what is refused."""

import json

import pytest

from cleanup_app.config import ConfigError, load_config

SECRET = json.dumps({"username": "platform", "password": "s3cr3t-value"})
BASE = {"DB_HOST": "db.internal", "DB_NAME": "app", "DB_SECRET": SECRET}


def test_defaults_and_the_platform_variables():
    config = load_config({**BASE, "DB_PORT": "3307", "JOB_TIMEOUT_SECONDS": "1800"})
    assert (config.db_host, config.db_port, config.db_name, config.db_user) == ("db.internal", 3307, "app", "platform")
    assert (config.retention_days, config.batch_size, config.dry_run) == (30, 500, False)
    assert config.timeout_seconds == 1800
    # A tenth of the timeout (at most 2 minutes) is kept for the batch in flight and the exit.
    assert config.budget_seconds == 1800 - 120


def test_the_budget_keeps_at_least_ten_seconds_for_the_exit():
    assert load_config({**BASE, "JOB_TIMEOUT_SECONDS": "60"}).budget_seconds == 50


def test_the_password_is_never_in_the_repr():
    assert "s3cr3t-value" not in repr(load_config(BASE))


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"DB_HOST": ""}, "DB_HOST is required"),
        ({"DB_SECRET": "not json"}, "not valid JSON"),
        ({"DB_SECRET": json.dumps({"username": "u"})}, '"password"'),
        ({"RETENTION_DAYS": "0"}, "RETENTION_DAYS must be between 1 and 36500"),
        ({"BATCH_SIZE": "lots"}, "BATCH_SIZE must be an integer"),
        ({"BATCH_SIZE": "20000"}, "BATCH_SIZE must be between 1 and 10000"),
        ({"DRY_RUN": "maybe"}, "DRY_RUN must be true or false"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL must be one of"),
        ({"JOB_TIMEOUT_SECONDS": "5"}, "JOB_TIMEOUT_SECONDS must be between 60 and 86400"),
    ],
)
def test_fails_when_a_variable_is_missing_or_invalid(changes, words):
    with pytest.raises(ConfigError) as caught:
        load_config({**BASE, **changes})
    assert words in str(caught.value)
    assert "s3cr3t-value" not in str(caught.value)
