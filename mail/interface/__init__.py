"""The mail app's interface layer (SPEC §1), deliberately empty: the app serves no route and has no command.

Other apps reach it through ``mail.application`` (the ``Outbox`` port, queued in their own unit of work);
the broker reaches it through the Celery tasks, which SPEC §1 places in ``mail/infra/celery_tasks.py``, and
the workers start from ``common/messaging.py``. A route or command of the mail app (an outbox admin view,
a resend command) would live here.
"""
