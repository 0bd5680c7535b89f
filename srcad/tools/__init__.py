"""Tools on top of the pipeline: ``graph`` (the picture), ``explain`` (the grad table) and
``compare`` (the cost of the gradient methods).

They cannot change what a compile generates (``runtime.disk.OUTSIDE_PIPELINE``). The public
functions are exported by ``srcad``; this package re-exports nothing, so that
``srcad.tools.graph`` and its siblings name the modules.
"""
