"""What a configuration file may say: one job, by its KIND."""

import pydantic

from bikes.jobs import JobKind


class MainSettings(pydantic.BaseModel):
    job: JobKind = pydantic.Field(discriminator="KIND")
