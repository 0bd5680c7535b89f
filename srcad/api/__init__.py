"""The API stage: what the user calls, and the signature a call is compiled for.

``grad`` (``grad``, ``value_and_grad``, ``source``), ``transforms`` (``jvp``, ``vjp``,
``jacfwd``, ``jacrev``, ``hessian``, ``hvp``), ``custom`` (custom derivatives),
``checking`` (``check_grad``, ``numerical_grad``) and ``signature`` (the structure, shapes
and dtypes of a call). The public functions are exported by ``srcad``; this package
re-exports nothing, so that ``srcad.api.grad`` and its siblings name the modules.
"""
