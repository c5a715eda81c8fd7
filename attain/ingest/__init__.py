"""Ingest: read the month's input files, adapt CRM exports, validate every row against the contract.

``load.load_inputs`` is the entry point of a run, ``report.validate_path`` the one of ``attain validate``; the
contract (Pandera models and the column lists derived from them) is in ``contract``.
"""
