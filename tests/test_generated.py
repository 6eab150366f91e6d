"""Each variant, rendered and set up for real: its own lint, tests and jobs pass.

The checks are grouped by the feature they exercise, and each variant's test class is
composed of the groups for the features it has (TestL1, TestL2_online, ...). The
project is rendered and installed once per class (a class-scoped fixture); every check
then sets up what it needs itself, through fixtures or in a scratch workspace with an
MLflow store of its own, so any one check runs alone and in any order.
`--dist loadscope` keeps a class on one xdist worker.
"""

from __future__ import annotations

import pytest

from extensions.ladder import FEATURES
from harness.matrix import Variant, variants
from tests.generated.base import EachTestFileAlone, ProjectChecks
from tests.generated.cd import CDChecks, RepoGovernanceChecks
from tests.generated.ci import CIChecks, TemplateUpdatesChecks
from tests.generated.docker import DockerChecks
from tests.generated.drift import ContinuousTrainingChecks, DriftChecks
from tests.generated.dvc import CloudRemoteChecks, DvcChecks, LocalRemoteChecks
from tests.generated.governance import (
    AuditChecks,
    LineageChecks,
    ModelCardChecks,
    ObjectLockAnchorChecks,
)
from tests.generated.kubeflow import KubeflowChecks
from tests.generated.kubernetes import KubernetesChecks
from tests.generated.monitoring import MonitoringChecks
from tests.generated.online import OnlineChecks
from tests.generated.pipeline import PipelineChecks
from tests.generated.registry import RegistryChecks
from tests.generated.rollout import ProgressiveRolloutChecks
from tests.generated.service import (
    ChallengerTrafficChecks,
    InputSamplingChecks,
    ServiceMetricsChecks,
)
from tests.generated.validation import ValidationChecks

pytestmark = pytest.mark.slow


# The checks of each feature; a variant's class is composed of those of its features.
FEATURE_CHECKS: dict[str, type] = {
    "pipeline": PipelineChecks,
    "registry": RegistryChecks,
    "ci": CIChecks,
    "online": OnlineChecks,
    "dvc": DvcChecks,
    "local_remote": LocalRemoteChecks,
    "cloud_remote": CloudRemoteChecks,
    "validation": ValidationChecks,
    "lineage": LineageChecks,
    "model_card": ModelCardChecks,
    "audit": AuditChecks,
    "object_lock_anchor": ObjectLockAnchorChecks,
    "docker": DockerChecks,
    "cd": CDChecks,
    "repo_governance": RepoGovernanceChecks,
    "drift": DriftChecks,
    "continuous_training": ContinuousTrainingChecks,
    "service_metrics": ServiceMetricsChecks,
    "input_sampling": InputSamplingChecks,
    "challenger_traffic": ChallengerTrafficChecks,
    "template_updates": TemplateUpdatesChecks,
    "monitoring": MonitoringChecks,
    "kubernetes": KubernetesChecks,
    "progressive_rollout": ProgressiveRolloutChecks,
    "kubeflow": KubeflowChecks,
}


def test_every_feature_has_its_checks():
    assert set(FEATURE_CHECKS) == set(FEATURES)


# Running each test file alone costs a project's whole test time again: it is done for
# the variant with the most features, whose test files include every other variant's.
RICHEST = max(variants(), key=lambda variant: len(set(variant.has)))


def checks_for(variant: Variant) -> tuple[type, ...]:
    """The check groups of the variant's features, most specific first, then the base."""
    groups = [FEATURE_CHECKS[name] for name in variant.has if name in FEATURE_CHECKS]
    return (*reversed(groups), ProjectChecks)


def first_of_level(variant: Variant) -> bool:
    return variant == next(other for other in variants() if other.level == variant.level)


for _variant in variants():
    _name = "Test" + _variant.id.replace("-", "_")
    _body = {
        "variant": _variant,
        "first_of_level": first_of_level(_variant),
        "weight": 2 * _variant.level,
    }
    globals()[_name] = type(_name, checks_for(_variant), _body)

_name = "Test" + RICHEST.id.replace("-", "_") + "_each_file_alone"
_body = {"variant": RICHEST, "weight": 2 * RICHEST.level + 1}
globals()[_name] = type(_name, (EachTestFileAlone,), _body)
