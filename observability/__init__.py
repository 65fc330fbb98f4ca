"""Process setup for the web and the workers alike: JSON logging (``log.py``, ``log_config.json``)."""
