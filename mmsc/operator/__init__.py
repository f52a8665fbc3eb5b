"""The operator's interfaces: ``/metrics`` for Prometheus (:mod:`.scrape`), the JSON API
under ``/api/v1/`` (:mod:`.api`) and the web console at ``/console/`` (:mod:`.console`)."""
