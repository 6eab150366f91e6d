"""The jobs of the project."""

from bikes.jobs.evaluations import EvaluationsJob
from bikes.jobs.inference import InferenceJob
from bikes.jobs.promotion import PromotionJob
from bikes.jobs.training import TrainingJob

JobKind = TrainingJob | EvaluationsJob | InferenceJob | PromotionJob
