"""Non-finite losses: skip the update, count, and after too many in a row roll back (the trainer) or stop.

``PPGAN_STYLEGAN_FAULT_NONFINITE=5,6`` (iterations, ``0-3,7`` syntax) treats every loss of those iterations as
non-finite the first time they run: fault injection, to test divergence handling on a real run.
"""
import logging
import os

import paddle

from ..core.distributed import all_true, average_gradients
from ..core.errors import NonFiniteLossError
from ..core.ranges import parse_ranges

FAULT_ENV = "PPGAN_STYLEGAN_FAULT_NONFINITE"

logger = logging.getLogger("ppgan_stylegan.models")


class NonFiniteGuard:
    """Mixin for training models: ``_step`` instead of backward + step, ``_count_nonfinite`` once per iteration.

    Needs ``self.max_nonfinite`` and ``self.current_iter`` (completed iterations).
    """

    nonfinite_streak = 0
    nonfinite_total = 0
    max_rollbacks = 0  # models that take ``max_rollbacks`` / ``rollback_lr_factor`` set these (configure_rollback)
    rollback_lr_factor = 0.5
    _faults = None

    def configure_rollback(self, max_rollbacks, lr_factor):
        """After ``max_nonfinite`` non-finite iterations in a row the trainer reloads the newest checkpoint and
        multiplies every learning rate by ``lr_factor``, at most ``max_rollbacks`` times (0: stop at once)."""
        self.max_rollbacks, self.rollback_lr_factor = int(max_rollbacks), float(lr_factor)

    def _injected_fault(self):
        """True when ``PPGAN_STYLEGAN_FAULT_NONFINITE`` names this iteration (each listed iteration only once)."""
        if self._faults is None:
            text = os.environ.get(FAULT_ENV, "").strip()
            self._faults = set(parse_ranges(text, FAULT_ENV)) if text else set()
        return self.current_iter + 1 in self._faults

    def _step(self, optimizer, loss, name, scaler=None):
        """backward + step, unless the loss is not finite: then no update, and the iteration is flagged.

        With a ``paddle.amp.GradScaler`` the loss is scaled and the scaler skips steps whose gradients
        overflowed (dynamic loss scaling); gradients are averaged over ranks before either step."""
        optimizer.clear_grad()
        if self._injected_fault() or not all_true(bool(paddle.isfinite(loss).all())):  # all ranks skip together
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
        if self._faults:
            self._faults.discard(self.current_iter + 1)  # injected once: a replay after a rollback runs normally
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

    def reset_nonfinite_streak(self):
        self.nonfinite_streak, self._nonfinite = 0, []
