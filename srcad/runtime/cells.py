"""Runtime: naming a notebook cell in an error message.

Comes in: an error on its way out of a public transformation, located at ``file:line``.
Goes out: the same error, whose message says ``cell [3], line 2`` where ``file`` is a
notebook cell, as IPython's own tracebacks do (``Cell In[3], line 2``).

IPython compiles a cell under a made-up file name: ``<ipython-input-3-1a2b3c4d5e6f>`` (the
terminal, IPython before 8) or ``/tmp/ipykernel_4711/2245342478.py`` (Jupyter's kernel,
whose name carries no number). The running shell maps each name to its execution count
(``get_ipython().compile._filename_map``); the number in an ``<ipython-input-N-...>`` name
serves when there is no shell. srcad never imports IPython: a cell exists only where IPython
is already running.
"""

from __future__ import annotations

import re
import sys

INPUT_NAME = re.compile(r"<ipython-input-(\d+)-[0-9a-f]+>")
KERNEL_NAME = re.compile(r"ipykernel_\d+[/\\][^/\\]+\.py$")


def cell_name(file: str) -> str | None:
    """``cell [3]`` when ``file`` is the name IPython compiled a cell under (``a notebook
    cell`` when its number is unknown), else None."""
    number = _execution_count(file)
    if number is None:
        match = INPUT_NAME.fullmatch(file)
        number = int(match[1]) if match else None
    if number is not None:
        return f"cell [{number}]"
    return "a notebook cell" if KERNEL_NAME.search(file) else None


def _execution_count(file: str) -> int | None:
    """The execution count of the cell compiled as ``file`` in the running IPython shell."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    numbers = getattr(getattr(shell, "compile", None), "_filename_map", None)
    number = numbers.get(file) if isinstance(numbers, dict) else None
    return number if isinstance(number, int) else None


def name_notebook_cell(error: BaseException) -> None:
    """Rewrite ``file:line`` in ``error``'s message as ``cell [3], line 2`` when ``file`` (the
    error's ``file`` attribute) is a notebook cell."""
    file = getattr(error, "file", None)
    cell = cell_name(file) if isinstance(file, str) else None
    if cell is None or not error.args or not isinstance(error.args[0], str):
        return
    located = re.compile(re.escape(file) + r":(\d+)")
    message = located.sub(lambda match: f"{cell}, line {match[1]}", error.args[0])
    error.args = (message, *error.args[1:])


__all__ = ["cell_name", "name_notebook_cell"]
