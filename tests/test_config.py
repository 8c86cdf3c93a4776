from pathlib import Path

import pytest
import yaml

from ave_core.config import (
    AveConfig,
    coerce_strings,
    config_json_schema,
    deep_merge,
    load_config,
    schema_error_line,
    section_params,
)
from ave_core.errors import ConfigError
from ave_core.schemas import config_schema_text

REPO = Path(__file__).resolve().parents[1]
DEFAULTS = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def test_committed_schema_is_generated_from_the_models() -> None:
    committed = (REPO / "config" / "schema.yaml").read_text()
    assert committed == config_schema_text(), "run: python -m ave_core.schemas ."


def test_config_yaml_documents_the_model_defaults() -> None:
    assert load_config(DEFAULTS) == AveConfig()
    # every key carries a comment line above it
    lines = (REPO / "config" / "config.yaml").read_text().splitlines()
    for number, line in enumerate(lines):
        if line.startswith("  ") and ":" in line and not line.strip().startswith("#"):
            assert lines[number - 1].strip().startswith("#"), f"no comment above: {line}"


def test_every_schema_key_has_a_description() -> None:
    schema = config_json_schema()
    for section, body in schema["properties"].items():
        assert body.get("description"), section
        for key, prop in body["properties"].items():
            assert prop.get("description"), f"{section}.{key}"


def test_deep_merge_keeps_unrelated_nested_keys() -> None:
    merged = deep_merge(DEFAULTS, {"vad": {"threshold": 0.7}})
    assert merged["vad"]["threshold"] == 0.7
    assert merged["vad"]["min_silence_ms"] == DEFAULTS["vad"]["min_silence_ms"]
    assert DEFAULTS["vad"]["threshold"] == 0.5  # the base is not modified


def test_strings_from_the_command_line_become_numbers() -> None:
    schema = config_json_schema()
    given = {
        "vad": {"threshold": "0.6", "min_silence_ms": "300"},
        "context": {"embed_artifacts": "false"},
    }
    coerced = coerce_strings(given, schema)
    assert coerced == {
        "vad": {"threshold": 0.6, "min_silence_ms": 300},
        "context": {"embed_artifacts": False},
    }
    assert coerce_strings({"vad": {"threshold": "abc"}}, schema)["vad"]["threshold"] == "abc"
    assert coerce_strings({"vad": {"min_silence_ms": "0.5"}}, schema)["vad"]["min_silence_ms"] == "0.5"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            {"vad": {"threshold": "abc"}},
            "config key 'vad.threshold': 'abc' is not of type 'number'",
        ),
        ({"vad": {"thresold": 0.5}}, "config key 'vad.thresold' is unknown"),
        ({"colour": 1}, "config key 'colour' is unknown"),
        ({"audio": {"peak_prominence_db": -3}}, "config key 'audio.peak_prominence_db'"),
    ],
)
def test_schema_errors_are_one_line_naming_the_key(override: dict, expected: str) -> None:
    line = schema_error_line(deep_merge(DEFAULTS, override), config_json_schema())
    assert line is not None and line.startswith(expected)
    assert "\n" not in line


def test_valid_config_has_no_schema_error() -> None:
    assert schema_error_line(DEFAULTS, config_json_schema()) is None


def test_model_validation_error_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"config key 'vad.threshold'"):
        load_config({"vad": {"threshold": 2}})


def test_section_params_are_plain_and_normalised() -> None:
    as_int = section_params(load_config({"audio": {"envelope_hz": 10}}), "audio")
    as_float = section_params(load_config({"audio": {"envelope_hz": 10.0}}), "audio")
    assert as_int == as_float
    assert repr(as_int) == repr(as_float)  # Snakemake compares the repr of params
    assert all(isinstance(v, (int, float, str, bool, list)) for v in as_int.values())
