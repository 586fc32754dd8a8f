"""Loopback fakes of the live marketplaces, written from their documented wire formats
(``/work/shared/marketplaces/WIRE.md``), for the live adapters' tests."""
