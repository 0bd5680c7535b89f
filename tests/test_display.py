"""Jupyter display: transformed functions, grad tables and graphs as HTML; errors name cells.

The ``_repr_html_`` methods are called directly (what a notebook does with a cell's result),
so no notebook server is needed; one test runs cells in a real IPython shell.
"""

from __future__ import annotations

import html
import linecache
import re
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

import srcad

CELL_WITH_GLOBAL = (
    "def stepped(x):\n    global offset\n    offset = max(x, offset)\n    return x * 2.0\n"
)


def loss(w, x):
    """Squares of the positive part: ``w * x`` where it is > 0 & 0 elsewhere."""
    return np.sum(np.where(w * x > 0, w * x, 0.0) ** 2)


def test_transformed_function_shows_escaped_source_then_generated_code():
    transformed = srcad.grad(loss)
    before = transformed._repr_html_()
    assert "<code>srcad.grad(loss)</code>: reverse mode, with respect to <code>w</code>" in before
    assert "&gt; 0 &amp; 0 elsewhere" in before and "> 0 & 0" not in before
    assert "not compiled yet" in before and "loss_grad" not in before
    transformed(np.ones(3), np.arange(3.0))
    after = transformed._repr_html_()
    assert "not compiled yet" not in after
    generated = html.unescape(re.findall(r"<pre[^>]*><code>(.*?)</code></pre>", after, re.S)[1])
    assert generated == srcad.source(transformed)


def test_value_and_grad_in_forward_mode_names_itself():
    text = srcad.value_and_grad(loss, argnums=(0, 1), mode="forward")._repr_html_()
    assert "srcad.value_and_grad(loss)</code>: forward mode" in text
    assert "with respect to <code>w, x</code>" in text


def test_display_of_a_function_without_source_does_not_raise():
    text = srcad.grad(eval("lambda v: v * 2.0"))._repr_html_()  # noqa: S307 - no source
    assert "srcad.grad(&lt;lambda&gt;)" in text and "<pre" not in text


def test_grad_table_is_an_html_table_with_one_row_per_value():
    table = srcad.explain(lambda x, y: np.tanh(x) * (y > x), 0.5, 1.0)
    text = table._repr_html_()
    assert text.startswith("<table") and "grad table of &lt;lambda&gt;" in text
    body = text[text.index("<tbody>") : text.index("</tbody>")]
    assert body.count("<tr>") == len(table.rows)
    headers = re.findall(r"<th style=[^>]*>(.*?)</th>", text)
    assert headers[:3] == ["name", "computed as", "line"]
    assert "y &gt; x" in body and "y > x" not in body  # the comparison, escaped
    first_cells = [html.unescape(c) for c in re.findall(r"<tr><td[^>]*>(.*?)</td>", body)]
    assert first_cells == [row.name for row in table.rows]


def test_grad_table_of_a_loop_has_a_where_column():
    def powers(x):
        for _ in range(3):
            x = x * x
        return x

    text = srcad.explain(powers, 1.1)._repr_html_()
    assert re.findall(r"<th style=[^>]*>(.*?)</th>", text)[1] == "where"
    assert ">iteration 2<" in text


def test_graph_without_graphviz_shows_escaped_dot_text(monkeypatch):
    monkeypatch.setattr("srcad.tools.display.shutil.which", lambda name: None)
    picture = srcad.graph(loss, np.ones(3), np.ones(3))
    text = picture._repr_html_()
    assert "not installed" in text and "digraph" in text
    shown = html.unescape(re.search(r"<pre[^>]*>(.*)</pre>", text, re.S)[1])
    assert shown == picture.to_dot()
    assert " -> " not in text and " -&gt; " in text


def test_graph_with_graphviz_is_inline_svg_without_the_xml_prolog(monkeypatch, tmp_path):
    fake_dot = tmp_path / "dot"
    fake_dot.write_text(
        "#!/bin/sh\ncat > /dev/null\necho '<?xml version=\"1.0\"?>'\n"
        "echo '<!DOCTYPE svg>'\necho '<svg width=\"10pt\"><g/></svg>'\n"
    )
    fake_dot.chmod(0o755)
    monkeypatch.setattr("srcad.tools.display.shutil.which", lambda name: str(fake_dot))
    text = srcad.graph(loss, np.ones(3), np.ones(3))._repr_html_()
    assert text.startswith("<div class='srcad-graph'><svg")
    assert "<?xml" not in text and "DOCTYPE" not in text


def _define_in_cell(name: str) -> types.FunctionType:
    """Define ``stepped`` as a notebook cell compiled under ``name`` defines it."""
    linecache.cache[name] = (len(CELL_WITH_GLOBAL), None, CELL_WITH_GLOBAL.splitlines(True), name)
    namespace: dict = {}
    exec(compile(CELL_WITH_GLOBAL, name, "exec"), namespace)  # noqa: S102 - a cell
    return namespace["stepped"]


def test_error_in_a_terminal_cell_names_the_cell_and_line():
    stepped = _define_in_cell("<ipython-input-3-0123456789ab>")
    with pytest.raises(srcad.UnsupportedSyntax) as caught:
        srcad.grad(stepped)(1.0)
    assert str(caught.value).startswith("cell [3], line 2: cannot differentiate through a 'global'")
    assert "ipython-input" not in str(caught.value)


def test_error_in_a_kernel_cell_names_its_execution_count(monkeypatch):
    name = "/tmp/ipykernel_4711/2245342478.py"
    stepped = _define_in_cell(name)
    shell = types.SimpleNamespace(compile=types.SimpleNamespace(_filename_map={name: 7}))
    fake_ipython = types.SimpleNamespace(get_ipython=lambda: shell)
    monkeypatch.setitem(sys.modules, "IPython", fake_ipython)
    with pytest.raises(srcad.UnsupportedSyntax, match=r"^cell \[7\], line 2: "):
        srcad.grad(stepped)(1.0)
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: None))
    with pytest.raises(srcad.UnsupportedSyntax, match=r"^a notebook cell, line 2: "):
        srcad.grad(stepped)(1.0)


def test_error_in_a_file_keeps_the_file_name(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(CELL_WITH_GLOBAL)
    linecache.checkcache(str(path))
    namespace: dict = {}
    exec(compile(CELL_WITH_GLOBAL, str(path), "exec"), namespace)  # noqa: S102
    with pytest.raises(srcad.UnsupportedSyntax) as caught:
        srcad.grad(namespace["stepped"])(1.0)
    assert str(caught.value).startswith(f"{path}:2: ")


@pytest.mark.slow  # a fresh interpreter: the full suite runs it
def test_error_in_a_real_ipython_shell_names_the_cell():
    pytest.importorskip("IPython")
    script = f"CELL = {CELL_WITH_GLOBAL!r}\n" + textwrap.dedent("""
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        shell.run_cell("import srcad", store_history=True)
        shell.run_cell(CELL, store_history=True)
        result = shell.run_cell("srcad.grad(stepped)(1.0)", store_history=True)
        print("MESSAGE:", result.error_in_exec)
        """)
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    message = run.stdout.split("MESSAGE: ", 1)[1]
    assert message.startswith("cell [2], line 2: cannot differentiate through a 'global'")
