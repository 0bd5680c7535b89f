"""A corpus of ordinary Python/NumPy functions, each checked against central differences.

Every ``functions_*.py`` module groups functions by the construct they exercise and lists them
in ``CASES = [(function, args_factory, argnums), ...]``; ``test_corpus.py`` runs them all.
"""
