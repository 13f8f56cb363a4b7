"""A local monitoring stack on 127.0.0.1: Prometheus, Alertmanager, instrumented model services
and a webhook recorder, started from a generated tree (`mlmon up`, and the end-to-end tests).

configs.py rewrites copies of the generated configs (addresses only); webhook.py records what
Alertmanager sends; traffic.py is a bounded load generator; harness.py starts and stops it all.
"""
