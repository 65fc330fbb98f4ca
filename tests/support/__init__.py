"""Helpers shared by the test tiers, one module each.

- ``app``: test settings, migrations, unique data, HTTP shortcuts (signup, login, ...);
- ``notes``: note bodies, note HTTP shortcuts, users for repository tests;
- ``email``: an SMTP sink, RabbitMQ vhosts and Celery workers for the email tests;
- ``live_server``: a real ``python main.py`` or uvicorn in a subprocess;
- ``net_proxy``: a TCP proxy to take a server away from the processes using it;
- ``ports``: a free loopback port;
- ``log_audit``: every line the session logged, and the secrets never to be in it.
"""
