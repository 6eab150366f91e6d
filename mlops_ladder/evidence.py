"""Whether a repository shows a feature, by the evidence rules of the feature table."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from mlops_ladder._ladder import ladder
from mlops_ladder.repository import Repository, normalize


@dataclass(frozen=True)
class Finding:
    """A clue's outcome: where it was found (empty: not found)."""

    clue: Any  # ladder.Clue
    found: tuple[str, ...]

    @property
    def holds(self) -> bool:
        return bool(self.found)


@dataclass(eq=False)
class Inventory:
    """The evidence of every feature in one repository (repo-review's `evidence` fixture).

    It only memoises what it has looked up, so repo-review's copy of the fixtures (made
    to catch checks that change them) is the inventory itself.
    """

    repo: Repository
    _features: dict[str, tuple[Finding, ...]] = field(default_factory=dict, repr=False)

    def __deepcopy__(self, memo: dict[int, Any]) -> Inventory:
        return self

    def findings(self, feature: str) -> tuple[Finding, ...]:
        if feature not in self._features:
            rule = ladder.BASE_EVIDENCE.get(feature) or ladder.EVIDENCE[feature]
            self._features[feature] = tuple(
                Finding(clue, tuple(self.look(clue))) for clue in rule.clues
            )
        return self._features[feature]

    def has(self, feature: str) -> bool:
        return all(finding.holds for finding in self.findings(feature))

    def missing(self, feature: str) -> list[str]:
        """What was not found, in words."""
        return [finding.clue.says for finding in self.findings(feature) if not finding.holds]

    def where(self, feature: str) -> list[str]:
        """Where the evidence was found: paths, `make <target>`, `dependency <name>`."""
        places = (place for finding in self.findings(feature) for place in finding.found[:2])
        return list(dict.fromkeys(places))

    def look(self, clue: Any) -> list[str]:
        repo = self.repo
        found = repo.matching(*clue.files) if clue.files else []
        for pattern, regex in clue.text:
            found += repo.search(pattern, regex)
        found += [f"make {target}" for target in clue.targets if target in repo.make_targets]
        found += [
            f"dependency {name}"
            for name in clue.dependencies
            if normalize(name) in repo.dependencies
        ]
        found += [f"feature {name}" for name in clue.features if self.has(name)]
        return list(dict.fromkeys(found))

    @cached_property
    def base(self) -> bool:
        return all(self.has(name) for name in ladder.BASE_EVIDENCE)


def evidence(root: Any) -> Inventory:
    """repo-review fixture: the inventory of the repository at `root` (a local folder)."""
    path = Path(str(root))
    if not path.is_dir():
        repo = Repository(path)
        repo.problems.append(
            f"{root} is not a local folder: doctor reads a checkout (clone the repository first)"
        )
        return Inventory(repo)
    return Inventory(Repository.scan(path))
