"""Tools on top of the public API: ``graph`` (the picture; ``dot`` writes its DOT text),
``explain`` (the grad table) and ``compare`` (the cost of the gradient methods).

They use only the public API: ``srcad``'s functions, the inspection API
(``srcad.make_graph``, ``srcad.api.inspect``) and the data types of ``srcad.ir``
(``tests/test_imports.py`` and ``lint-imports`` check it). They cannot change what a compile
generates (``runtime.disk.OUTSIDE_PIPELINE``). The public functions are exported by
``srcad``; this package re-exports nothing, so that ``srcad.tools.graph`` and its siblings
name the modules.
"""
