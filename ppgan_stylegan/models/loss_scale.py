"""Dynamic loss scaling for the float16 steps, kept on the device.

Paddle's ``GradScaler`` reads its overflow flag on the host in ``update()`` and hands it to the optimizer as
``found_inf``, which Paddle's Adam kernels copy to the host once per parameter (``skip_update``); the flag also
stays on the optimizer and drops the next unscaled step (a lazy R1 / path-length step). Here the overflow test,
the skip (gradients zeroed, as ``NonFiniteGuard`` does for a non-finite loss: Adam with StyleGAN's
``beta1 = 0`` then leaves the weights as they were) and the scale update are device ops: no host read, nothing
left on the optimizer. The policy is Paddle's defaults: halve on overflow, double after 2000 clean steps.
The state dict has the keys of Paddle's ``GradScaler.state_dict`` (checkpoints written with it still load).
"""
import paddle

from ..core.compat import write_


class LossScaler:
    """``scale(loss)`` before backward; ``unscale(params)`` after it returns the device flag "no overflow";
    ``update(no_overflow)`` adjusts the scale. ``scale_tensor`` is the current scale (a device scalar)."""

    def __init__(self, init_scale=2.0 ** 15, growth_interval=2000, growth=2.0, backoff=0.5):
        self.growth_interval, self.growth, self.backoff = int(growth_interval), float(growth), float(backoff)
        self.scale_tensor = paddle.full([], float(init_scale), "float32")
        self.good_steps = paddle.zeros([], "int64")

    def scale(self, loss):
        return loss * self.scale_tensor.astype(loss.dtype)

    def unscale(self, parameters):
        """Gradients divided by the scale, in place; True (a device bool) when every one is finite."""
        grads = [p.grad for p in parameters if p.grad is not None]
        inverse = 1.0 / self.scale_tensor
        for g in grads:
            write_(g, g * inverse)
        if not grads:
            return paddle.full([], True, "bool")
        return paddle.isfinite(paddle.add_n([g.astype("float32").sum() for g in grads]))

    def update(self, no_overflow):
        """Overflow: scale x ``backoff``, count restarts; else after ``growth_interval`` clean steps x ``growth``."""
        steps = paddle.where(no_overflow, self.good_steps + 1, paddle.zeros_like(self.good_steps))
        grow = steps >= self.growth_interval
        factor = paddle.where(no_overflow, paddle.where(grow, paddle.full([], self.growth), paddle.full([], 1.0)),
                              paddle.full([], self.backoff))
        write_(self.scale_tensor, self.scale_tensor * factor)
        write_(self.good_steps, paddle.where(grow, paddle.zeros_like(steps), steps))

    def state_dict(self):
        """Paddle ``GradScaler`` keys (read at checkpoint time only)."""
        return {"scale": float(self.scale_tensor), "incr_ratio": self.growth, "decr_ratio": self.backoff,
                "incr_every_n_steps": self.growth_interval, "decr_every_n_nan_or_inf": 1,
                "incr_count": int(self.good_steps), "decr_count": 0, "use_dynamic_loss_scaling": True}

    def load_state_dict(self, state):
        self.growth, self.backoff = float(state["incr_ratio"]), float(state["decr_ratio"])
        self.growth_interval = int(state["incr_every_n_steps"])
        write_(self.scale_tensor, paddle.full([], float(state["scale"]), "float32"))
        write_(self.good_steps, paddle.full([], int(state["incr_count"]), "int64"))
