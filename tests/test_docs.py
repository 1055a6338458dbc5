"""The documentation's generated pages: every scenario field, fault parameter and message code is there.

The docs themselves are built by CI (``.ci/run``: ``sphinx-build -W``, warnings are errors); these
checks run the generators the build uses, without Sphinx, in milliseconds.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import pytest

from riaps_sim.coord.timing import Timing
from riaps_sim.coord.wire import Code
from riaps_sim.model import GroupType
from riaps_sim.netprofile import NetworkProfile
from riaps_sim.scenario import NodeSpec, Scenario

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("scenario_reference", DOCS / "_ext" / "scenario_reference.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("scenario_reference", module)
    spec.loader.exec_module(module)
    return module


def test_every_scenario_field_and_fault_parameter_is_in_the_reference(generator) -> None:
    """Each field of Scenario, NodeSpec, GroupType, Timing and NetworkProfile, and each parameter of each fault, has a described row."""
    text, missing = generator.reference_rst()
    assert missing == []
    faults = [cls for _, cls, _ in generator.fault_classes()]
    assert {cls.__name__ for cls in faults} == {"Partition", "Heal", "Crash", "Restart", "Pause", "ClockSkew", "Loss", "Duplicate", "Delay"}
    for cls in (Scenario, NodeSpec, GroupType, Timing, NetworkProfile, *faults):
        section = text.split(f".. rubric:: {cls.__name__}", 1)[1].split(".. rubric::", 1)[0]  # the class's own table
        for field in dataclasses.fields(cls):
            assert f"* - ``{field.name}``" in section, f"{cls.__name__}.{field.name} is not in the scenario reference"


def test_the_reference_names_the_toml_keys(generator) -> None:
    """Fault kinds as TOML spells them; timing by RIAPS model names (or the Python ones)."""
    text, _ = generator.reference_rst()
    for key in (
        '``kind = "clock_skew"``',
        "``offset_s``",
        "``latency_s``",
        "``heartbeat`` or ``heartbeat_ms``",
        "``electionMin``",
        "``peerTimeout``",
        "``consensusTimeout``",
    ):
        assert key in text


def test_a_field_without_a_description_is_reported(generator, monkeypatch) -> None:
    monkeypatch.delitem(generator.NOTES, "Scenario.seed")
    assert generator.reference_rst()[1] == ["Scenario.seed"]


def test_every_wire_code_is_in_the_glossary(generator) -> None:
    text, missing = generator.message_codes_rst()
    assert missing == []
    for code in Code:
        assert f"``{code.value.decode()}``" in text


def test_docs_pages_use_the_generators() -> None:
    assert "```{eval-rst}\n.. scenario-reference::" in (DOCS / "scenarios.md").read_text(encoding="utf-8")
    assert "```{eval-rst}\n.. message-codes::" in (DOCS / "glossary.md").read_text(encoding="utf-8")
    bugs = (DOCS / "glossary.md").read_text(encoding="utf-8")
    assert all(f"\nB{n} (" in bugs for n in range(1, 27))


def test_the_toml_keys_the_reference_names_are_the_loaders(generator) -> None:
    """Every plain TOML key in the reference is one the loader takes (its source names it), and vice versa for [scenario]."""
    import inspect

    from riaps_sim import scenario_files

    source = inspect.getsource(scenario_files)
    for cls, (_, keys) in generator.TOML_KEYS.items():
        if cls is Timing:  # its keys are MODEL_NAMES (or the field names), which the loader reads as a table
            continue
        for key in keys.values():
            plain = key.split("``")[0]
            if " " not in plain:  # "[[group]] tables" and the like are tables, not keys
                assert f'"{plain}"' in source, f"{cls.__name__}: the loader takes no TOML key {plain!r}"
    head = source.split("head.done([", 1)[1].split("])", 1)[0]
    taken = {k.strip().strip('"') for k in head.split(",")}
    named = set(generator.TOML_KEYS[Scenario][1].values())
    assert taken <= named, f"[scenario] keys missing from the reference: {taken - named}"
