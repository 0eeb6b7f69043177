"""Remote support costs local users nothing: no store library is imported unless a URL is given."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

STORE_MODULES = {"fsspec", "s3fs", "gcsfs", "boto3", "botocore", "aiobotocore"}


def loaded_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return set(out.split())


def test_imports_and_local_list_load_no_store_library(tmp_path: Path) -> None:
    statement = (
        "import ckpt_tui, ckpt_tui.reader, ckpt_tui.catalog.api, ckpt_tui.io.storage\n"
        "import ckpt_tui.io.remote_tree, ckpt_tui.tui.app\n"
        "from ckpt_tui.cli import main\n"
        f"main(['list', {str(tmp_path)!r}, '--json'])"
    )
    assert not STORE_MODULES & loaded_after(statement)
