"""Crons: runs started on a schedule (`client.crons.*` of the LangGraph Server API).

`CronJobs` serves the routes (create, change, find, delete), `CronScheduler` fires the crons that
are due as runs, and `schedule` reads cron expressions.
"""
