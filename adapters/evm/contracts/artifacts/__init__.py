"""Compiled contract artifacts (JSON) written by ``adapters.evm.contracts.build``; never edited."""
