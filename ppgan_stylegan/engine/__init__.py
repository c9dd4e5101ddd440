"""Training engine: the resumable trainer (any ppgan model) and its checkpoint files."""
from .loader import ResumableLoader
from .trainer import ResumableTrainer, seed_everything

__all__ = ["ResumableLoader", "ResumableTrainer", "seed_everything"]
