"""The API stage: what the user calls, and the signature a call is compiled for.

``grad`` (``grad``, ``value_and_grad``, ``source``), ``transforms`` (``jvp``, ``vjp``,
``jacfwd``, ``jacrev``, ``hessian``, ``hvp``), ``custom`` (custom derivatives),
``checking`` (``check_grad``, ``numerical_grad``), ``signature`` (the structure, shapes
and dtypes of a call), ``backend`` (which backend runs and shows the generated code),
``forward_gradient`` (``grad(mode="forward")``'s passes), ``display`` (notebook display),
``integrate`` (``scipy.integrate.odeint``'s adjoint rule), ``ivp`` (``solve_ivp``'s),
``fixed_point``
(``srcad.fixed_point``) and ``inspect`` (``make_graph``). The public functions are exported by ``srcad``; this package
re-exports nothing, so that ``srcad.api.grad`` and its siblings name the modules.
"""
