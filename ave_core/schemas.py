"""Export the JSON Schemas: every artifact to docs/schemas/, the workflow config to config/schema.yaml.

python -m ave_core.schemas [REPO_ROOT]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from .config import config_json_schema
from .models import ARTIFACT_MODELS
from .publish import write_text_atomic

SCHEMA_HEADER = "# Generated from ave_core/config.py by `python -m ave_core.schemas`; do not edit by hand.\n"


def artifact_schemas() -> dict[str, str]:
    """File name -> JSON Schema text for every artifact model."""
    return {
        f"{name}.schema.json": json.dumps(model.model_json_schema(), indent=2) + "\n"
        for name, model in ARTIFACT_MODELS.items()
    }


def config_schema_text() -> str:
    """config/schema.yaml as it should read."""
    body = yaml.safe_dump(config_json_schema(), sort_keys=False, width=100)
    return SCHEMA_HEADER + body


def export(root: Path) -> list[Path]:
    """Write every schema under `root`; return the files written."""
    written = []
    docs = root / "docs" / "schemas"
    docs.mkdir(parents=True, exist_ok=True)
    for name, text in artifact_schemas().items():
        write_text_atomic(docs / name, text)
        written.append(docs / name)
    config_schema = root / "config" / "schema.yaml"
    write_text_atomic(config_schema, config_schema_text())
    written.append(config_schema)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    for path in export(target):
        print(path)
