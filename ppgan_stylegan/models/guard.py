"""Non-finite losses: skip the update, count, and after too many in a row roll back (the trainer) or stop.

``PPGAN_STYLEGAN_FAULT_NONFINITE=5,6`` (iterations, ``0-3,7`` syntax) treats every loss of those iterations as
non-finite the first time they run: fault injection, to test divergence handling on a real run.
"""
import logging
import os

import paddle

from ..core.compat import write_
from ..core.distributed import all_finite, all_min, average_gradients, world_size
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
    stop_requested = False  # this rank was asked to stop (a signal): its vote in the next iteration's collective
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
        """backward + step of one loss (``_step_parts`` with one part)."""
        return self._step_parts(optimizer, [lambda: loss], name, scaler)

    def _step_parts(self, optimizer, parts, name, scaler=None):
        """One optimizer step whose gradient is the sum of the gradients of ``part()`` for each callable of
        ``parts`` (a batch processed in micro-batches: each part builds, and frees, its own graph). Returns the
        summed loss (detached).

        When the loss is not finite (on any rank) the gradients are zeroed before the step, as NVlabs'
        ``nan_to_num`` does, so an Adam with ``beta1 = 0`` (StyleGAN's) leaves the weights as they were, and the
        iteration is flagged. No host synchronisation: the flags are read once per iteration by
        ``_count_nonfinite``.

        With a loss scaler (``loss_scale.LossScaler``, mixed precision) each part's loss is scaled before its
        backward and the averaged gradients unscaled; an overflow zeroes them too (the step is skipped) and
        lowers the scale, all on the device. Gradients are averaged over ranks before the step."""
        optimizer.clear_grad()
        total, finite = None, None
        for part in parts:
            loss = part()
            ok = paddle.isfinite(loss).all()
            finite = ok if finite is None else paddle.logical_and(finite, ok)
            (loss if scaler is None else scaler.scale(loss)).backward()
            total = loss.detach() if total is None else total + loss.detach()
        if self._injected_fault():
            finite = paddle.zeros_like(finite)
        finite = self._agree(finite)
        self._flags.append((name, finite))
        params = optimizer._parameter_list
        average_gradients(params)  # identical grads on every rank: identical overflow checks
        keep = finite
        if scaler is not None:
            no_overflow = scaler.unscale(params)
            scaler.update(paddle.logical_or(no_overflow, paddle.logical_not(finite)))  # (non-finite: the guard's)
            keep = paddle.logical_and(finite, no_overflow)
        zero_gradients_unless(keep, params)
        clear_stale_overflow(optimizer)
        optimizer.step()
        return total

    def _agree(self, finite):
        """``finite`` on every rank. With several ranks the iteration's first step also carries each rank's stop
        vote in the same all-reduce; ``iteration_values['running']`` is 0 after the iteration when any rank asked
        to stop, so that all stop after the same iteration (no extra collective, no extra host read)."""
        if world_size() == 1 or self._flags:
            return all_finite(finite)
        votes = all_min(paddle.stack([finite.astype("float32"),
                                      paddle.full([], 0.0 if self.stop_requested else 1.0)]))
        self.read_at_iteration_end("running", votes[1])
        return votes[0] > 0.5

    @property
    def _flags(self):
        if "_finite_flags" not in self.__dict__:
            self._finite_flags = []
        return self._finite_flags

    def read_at_iteration_end(self, key, value):
        """Have the device scalar ``value`` read on the host with the non-finite flags (one synchronisation per
        iteration for all of them); ``iteration_values[key]`` holds it afterwards."""
        self.__dict__.setdefault("_reads", []).append((key, value))

    def _count_nonfinite(self):
        """Once per iteration: the one host synchronisation of the non-finite checks (all phases' flags, and the
        values asked for with ``read_at_iteration_end``, in one read)."""
        flags, reads = self._flags, self.__dict__.get("_reads", [])
        self._finite_flags, self._reads = [], []
        if self._faults:
            self._faults.discard(self.current_iter + 1)  # injected once: a replay after a rollback runs normally
        entries = flags + reads
        values = paddle.stack([v.reshape([]).astype("float32") for _, v in entries]).numpy() if entries else []
        self.iteration_values = {key: float(v) for (key, _), v in zip(reads, values[len(flags):])}
        bad = [name for (name, _), ok in zip(flags, values) if not ok]
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
        self.nonfinite_streak, self._finite_flags, self._reads = 0, [], []


def clear_stale_overflow(optimizer):
    """Paddle's ``GradScaler.step`` leaves its overflow flag on the optimizer (auxiliary variable ``found_inf``) and
    the optimizer's next step skips its update while the flag is set: an unscaled step after an overflowed scaled
    one (a lazy R1 or path-length step after an AMP overflow in the main step) would be dropped silently."""
    if hasattr(optimizer, "_set_auxiliary_var"):
        optimizer._set_auxiliary_var("found_inf", None)


def zero_gradients_unless(finite, parameters):
    """Every gradient of ``parameters`` replaced by zeros where ``finite`` (a bool tensor) is False; on the device."""
    for p in parameters:
        if p.grad is not None:
            write_(p.grad, paddle.where(finite, p.grad, paddle.zeros_like(p.grad)))
