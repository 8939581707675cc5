"""Nightly cleanup of the api's database: delete items older than the retention.

Run by EventBridge Scheduler as an ECS task (`kind = "job"` in service.toml); one run, then
exit. ``python -m cleanup_app``.
"""
