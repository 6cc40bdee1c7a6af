"""The service over the store (the ``service`` extra): a JSON API with its OpenAPI document, live updates by
Server-Sent Events, Prometheus ``/metrics`` and a dashboard, served by ``defipm serve``.

Modules: ``app`` (``create_app``), ``api`` and ``live`` (routes), ``pages`` (dashboard, templates and static files
beside it), reads (``runs``, ``overview``, ``ledger``, ``arbitrage``, ``reports``, ``paging``), the live tail
(``watermark``, ``feed``, ``hub``), ``metrics`` and its ``exporter`` for the loops' own processes, the writes
(``controls``, ``audit``, ``access_token``), ``access`` (the store, opened lazily, errors as 503), ``security``,
``errors`` and ``cli`` (``defipm serve``). The service never trades: it writes only a run's kill switch, an
arbitrage run's pause and the audit of those requests.
"""
