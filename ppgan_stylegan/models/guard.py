"""Non-finite losses: skip the update, count, and stop the run after too many in a row."""
import logging

import paddle

from ..core.distributed import all_true, average_gradients

logger = logging.getLogger("ppgan_stylegan.models")


class NonFiniteLossError(RuntimeError):
    """Raised after ``max_nonfinite`` consecutive iterations with a non-finite loss."""


class NonFiniteGuard:
    """Mixin for training models: ``_step`` instead of backward + step, ``_count_nonfinite`` once per iteration.

    Needs ``self.max_nonfinite`` and ``self.current_iter`` (completed iterations).
    """

    nonfinite_streak = 0
    nonfinite_total = 0

    def _step(self, optimizer, loss, name, scaler=None):
        """backward + step, unless the loss is not finite: then no update, and the iteration is flagged.

        With a ``paddle.amp.GradScaler`` the loss is scaled and the scaler skips steps whose gradients
        overflowed (dynamic loss scaling); gradients are averaged over ranks before either step."""
        optimizer.clear_grad()
        if not all_true(bool(paddle.isfinite(loss).all())):  # all ranks skip together
            self._nonfinite = getattr(self, "_nonfinite", []) + [name]
            return
        if scaler is None:
            loss.backward()
            average_gradients(optimizer._parameter_list)
            optimizer.step()
            return
        scaler.scale(loss).backward()
        average_gradients(optimizer._parameter_list)  # identical grads on every rank: identical overflow checks
        scaler.step(optimizer)
        scaler.update()

    def _count_nonfinite(self):
        bad, self._nonfinite = getattr(self, "_nonfinite", []), []
        if not bad:
            self.nonfinite_streak = 0
            return
        self.nonfinite_streak += 1
        self.nonfinite_total += 1
        logger.warning(f"iteration {self.current_iter + 1}: non-finite {', '.join(bad)}: no update "
                       f"({self.nonfinite_streak} in a row, {self.nonfinite_total} in all)")
        if self.nonfinite_streak >= self.max_nonfinite:
            raise NonFiniteLossError(
                f"stopped: {self.nonfinite_streak} consecutive iterations with non-finite losses (last: "
                f"iteration {self.current_iter + 1}, {', '.join(bad)}); the last checkpoint is untouched. "
                "Lower the learning rate or check the data, then --resume from it")
