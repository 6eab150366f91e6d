"""Where the template is: the feature table (extensions/ladder.py) and what `adopt` renders.

From a checkout, the template is this repository; from a wheel (`uvx --from <source>`),
it is the copy the wheel carries in mlops_ladder/_template.
"""

from __future__ import annotations

import importlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUNDLED = HERE / "_template"
TEMPLATE_ROOT = BUNDLED if (BUNDLED / "copier.yml").is_file() else HERE.parent

ladder = importlib.import_module(
    "mlops_ladder._template.extensions.ladder" if TEMPLATE_ROOT == BUNDLED else "extensions.ladder"
)
