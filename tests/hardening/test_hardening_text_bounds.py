"""Small text files that would cost minutes or gigabytes if read naively: a sidecar line with a
long run of spaces, YAML merge keys that copy one big mapping into many, huge values and key
paths in a ``diff`` of two configs, and many ``*.index.json`` files (or links to one) in a model
folder.

Each is refused or cut down with an issue, a marker or a note that says so; the risky ones run in
a bounded subprocess (1.5 GiB, 60 s), where the unbounded reading fails by running out of either.
"""

from __future__ import annotations

import pytest
from hardening_helpers import bounded_python

from ckpt_tui.io.yaml_subset import FALLBACK, parse_simple_yaml

# --- a long run of spaces inside a sidecar value -------------------------------------------


def test_sidecar_line_with_a_long_run_of_spaces_is_read() -> None:
    # 400 KB, under the sidecar limit: quadratic in the run, this line alone took minutes.
    code = (
        "from ckpt_tui.io.yaml_subset import parse_simple_yaml\n"
        "value = 'b' + ' ' * 400_000 + 'c'\n"
        "print(parse_simple_yaml(f'exp_name: {value}   \\nepoch: 3\\n') "
        "== {'exp_name': value, 'epoch': 3})\n"
    )
    done = bounded_python(code)
    assert done.stdout.strip() == "True", done.stderr[-2000:]


@pytest.mark.parametrize(
    "text",
    [
        "a: b   c   \n",
        "a:    \n  - x  \n  -   \n",
        "- b    \n-   'q  '   \n",
        "a: 'x' #c  \n",
        "a:" + " " * 50 + "\n",
    ],
)
def test_trailing_spaces_read_as_pyyaml_does(text: str) -> None:
    import yaml

    fast = parse_simple_yaml(text)
    assert fast is FALLBACK or fast == yaml.safe_load(text), repr(text)
