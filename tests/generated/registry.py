"""Checks of the registry feature: the champion and challenger aliases."""

from __future__ import annotations

import json

import pytest

from tests.generated.base import ALIASES, once_per_level, registered, strict_params


class RegistryChecks:
    """Registering gated models, the champion and challenger aliases, `make pipeline`."""

    @pytest.fixture(scope="class")
    @classmethod
    def champion(cls, project) -> str:
        """The champion after `make pipeline` (the version it registered, or an equal one)."""
        version, role = registered(project.make("pipeline"))
        aliases = project.python(ALIASES.format(package=project.package))
        assert aliases[role] == version
        return aliases["champion"]

    @pytest.fixture(scope="class")
    @classmethod
    def scoring_model(cls, champion) -> None:
        """`make predict` scores with the champion."""

    def test_pipeline_registers_a_champion(self, project, champion):
        aliases = project.python(ALIASES.format(package=project.package))
        assert aliases["champion"] == champion

    @once_per_level
    def test_stages_register_move_the_aliases_and_stop_at_the_gate(self, project, tmp_path):
        # From level 3 a person approves every champion (outside git here, even level 4's
        # policy refuses: the code is not committed), so the stages only propose.
        approval = self.variant.has.audit
        workspace = project.workspace(tmp_path / "work")
        first = workspace.job("pipeline")
        assert registered(first) == ("1", "challenger" if approval else "champion")
        for stage in ("train", "evaluate"):
            workspace.job(stage)
        second = workspace.job("register")
        assert registered(second) == ("2", "challenger")
        if approval:  # still no champion: the comparison says so, and what comes next
            assert "there is no champion yet" in second
            assert "make promote VERSION=2" in second or "not promoted by policy" in second
        else:
            assert "on the same test split by gate.min_improvement" in second

        refused = workspace.job("pipeline", params=strict_params(project, tmp_path), check=False)
        assert "failed the evaluation gate" in refused and "Registered" not in refused
        aliases = workspace.python("-c", ALIASES.format(package=project.package))
        expected = {"challenger": "2"} if approval else {"champion": "1", "challenger": "2"}
        assert json.loads(aliases.splitlines()[-1]) == expected
