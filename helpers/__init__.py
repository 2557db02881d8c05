"""Helpers for the SOM-codes tutorial series: the library that the notebooks stand on."""
