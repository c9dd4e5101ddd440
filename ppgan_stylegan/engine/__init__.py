"""Training engine: the resumable trainer (any ppgan model) and its checkpoint files."""
from .trainer import ResumableLoader, ResumableTrainer, seed_everything

__all__ = ["ResumableLoader", "ResumableTrainer", "seed_everything"]
