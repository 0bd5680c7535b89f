"""Checks of decompositions whose result the generated code takes to be real.

srcad differentiates ``np.linalg.eig`` of a real matrix whose eigenvalues are real (its
rules, and ``.real``, ``.imag`` and ``np.abs`` of them, are those of real numbers). NumPy
gives real arrays for such a matrix and complex ones otherwise, which the generated code
would carry on with as if they were real: a wrong value, with at most a ComplexWarning. So
the generated code passes eig's result through ``real_spectrum``, which raises for complex
eigenvalues::

    t1, t2 = np.linalg.eig(M)
    w, V = srcad.ir.spectra.real_spectrum(t1, t2)
"""

from __future__ import annotations

import numpy as np

from srcad.ir.primitive import named_result

EigResult = named_result("real_spectrum", ("eigenvalues", "eigenvectors"))  # NumPy's name


def real_spectrum(eigenvalues: np.ndarray, eigenvectors: np.ndarray) -> tuple:
    """``np.linalg.eig``'s result, where its eigenvalues are real; ValueError otherwise."""
    if np.iscomplexobj(eigenvalues):
        complex_values = eigenvalues[np.asarray(eigenvalues).imag != 0]
        raise ValueError(
            f"np.linalg.eig gave complex eigenvalues ({complex_values.ravel()[0]}, ...) for "
            "this matrix; srcad differentiates eig of real spectra only. For a symmetric "
            "matrix use np.linalg.eigh; for the spectral radius or a stability margin, write "
            "it with real-valued functions of the matrix"
        )
    return EigResult(eigenvalues, eigenvectors)  # type: ignore[call-arg]
