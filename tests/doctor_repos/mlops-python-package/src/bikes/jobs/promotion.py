"""Give the newest registered version an alias (Champion by default)."""

from typing import Literal

from bikes.io.registries import promote_latest
from bikes.jobs.base import Job


class PromotionJob(Job):
    KIND: Literal["PromotionJob"] = "PromotionJob"
    alias: str = "Champion"

    def run(self) -> None:
        promote_latest("bikes", self.alias)
